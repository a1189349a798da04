"""Kolibri channel exports (a KOLIBRI_DATA folder on a stick) as content packs: one pack per
channel, read through Kolibri's published content schema versions. A library: it takes
paths and knows nothing of the hub."""

from content.kolibri.channel import open_channel, pack_id
from content.kolibri.storage import find_channels, is_channel_database

__all__ = ["find_channels", "is_channel_database", "open_channel", "pack_id"]
