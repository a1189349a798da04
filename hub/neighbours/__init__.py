"""Neighbour hubs on the same network: finding them over mDNS (discovery) and copying packs
from one to another, resumable and verified (neighbour_hub, share_claims, pack_fetcher,
copy_jobs).
"""
