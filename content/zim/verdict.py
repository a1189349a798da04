"""`python -m content.zim.verdict FILE`: libzim's full check of one ZIM, run apart from the
hub (content.zim.check). Prints nothing and exits 0 when the file is sound; otherwise prints
libzim's reason on one line and exits 1."""

from __future__ import annotations

import sys
from pathlib import Path


def main(path: str) -> int:
    from libzim.reader import Archive

    from content.zim.errors import libzim_reason

    try:
        archive = Archive(Path(path))
        sound = archive.check()
    except Exception as err:  # libzim raises RuntimeError, and others for some files
        print(libzim_reason(err))
        return 1
    if not sound:
        print("libzim's integrity check found broken entries or pointers")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
