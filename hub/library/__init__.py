"""The library: packs and their lessons, topics and files (models), importing and removing
packs with the blob store (packs), what a lesson page shows (lessons), the listing of packs,
and the byte-bounded caches of all of it, dropped whenever the library changes (cache).
"""
