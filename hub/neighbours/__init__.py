"""Neighbour hubs on the same network: finding them over mDNS (discovery) and copying packs
from one to another, resumable and verified (copy).
"""
