"""Content packs: manifest format, validation, safe reading and import into a blob store."""
