"""Kiwix libraries (ZIM files): finding them, checking them whole, reading their metadata and
entries. A library like the rest of `content/`: paths in, values out, no hub and no web.

    parts = find_zims(folder)                       # each a ZimFile: one file or a split set
    copy_checked(parts[0], dest, progress)          # joined, checksummed, structure checked
    with ZimReader(dest) as zim:
        zim.metadata().title, zim.entry("A/index"), zim.main_entry(), zim.random_entry()

Every failure is a ZimError whose text is one English sentence for an operator; no libzim
exception leaves this package.
"""

from content.zim.check import check_file, copy_checked
from content.zim.clusters import configure as configure_clusters
from content.zim.clusters import decompress_on
from content.zim.errors import ZimError
from content.zim.files import ZimFile, find_zims, is_zim_path, zim_file
from content.zim.reader import ZimEntry, ZimMetadata, ZimReader, keep_clusters

__all__ = [
    "ZimEntry",
    "ZimError",
    "ZimFile",
    "ZimMetadata",
    "ZimReader",
    "check_file",
    "configure_clusters",
    "copy_checked",
    "decompress_on",
    "find_zims",
    "is_zim_path",
    "keep_clusters",
    "zim_file",
]
