"""Where the files other projects made for tests live (Kiwix ZIMs, H5P packages, a Kolibri
export): `../shared/testdata` beside the checkout, as the team keeps them, or wherever
LEARNHUB_TESTDATA says (a clone made elsewhere). They are read where they are, never copied
into the repository."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("LEARNHUB_TESTDATA") or ROOT.parent / "shared" / "testdata")
