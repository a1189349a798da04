"""The member index of each H5P package being played, kept between requests.

An activity's page asks for dozens of files from its package; reading the zip's central
directory once per package, not once per file, is what this saves. At most
`h5p_packages_kept` indexes are kept (a few hundred bytes per file of a package), keyed by
the package's sha256: a blob never changes, so an index is never stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from content.zip_members import ZipIndex

_indexes: OrderedDict[str, ZipIndex] = OrderedDict()
_lock = threading.Lock()


def package_index(sha256: str, path: Path, kept: int) -> ZipIndex:
    """The index of the package blob `sha256` at `path`; PackError if it is not a zip."""
    with _lock:
        index = _indexes.get(sha256)
        if index is not None:
            _indexes.move_to_end(sha256)
            return index
    index = ZipIndex(path)  # outside the lock: other packages' files go on meanwhile
    with _lock:
        _indexes[sha256] = index
        while len(_indexes) > kept:
            _indexes.popitem(last=False)
    return index
