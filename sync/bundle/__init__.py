"""Sync bundles (format learnhub-bundle/1, specified in docs/sync-format.md): write, peek, read.

A bundle is an uncompressed POSIX ustar tar: `manifest.json`, `manifest.sig` (Ed25519 over
the manifest's exact bytes), then every part in manifest order: `parts/<name>` (xz NDJSON)
or `blobs/<sha256>` (raw bytes). The tar is written and read here, not by `tarfile`, so a
reader accepts exactly what a writer makes: regular files, known names, in order, nothing
else. `read_bundle` checks everything (structure, signature, sizes, every chunk hash, every
record) before it returns; afterwards each read re-checks the chunk hashes it streams, so a
file changed underneath still cannot feed unverified bytes to the caller.

This package is the public face; its modules are private, one job each:
`_format` (names, limits, the error), `_manifest` (manifest and record checks), `_tar` (the
tar both ways), `_write`, `_read` with `_decode` (chunk hashes, xz NDJSON), `_folders` (USB).
"""

from sync.bundle._folders import SYNC_FOLDER, bundles_in, sync_folder
from sync.bundle._format import FORMAT, LIMITS, SUFFIX, BundleError, Limits
from sync.bundle._read import Bundle, peek, read_bundle
from sync.bundle._write import PartSpec, bundle_name, write_bundle

__all__ = [
    "FORMAT",
    "LIMITS",
    "SUFFIX",
    "SYNC_FOLDER",
    "Bundle",
    "BundleError",
    "Limits",
    "PartSpec",
    "bundle_name",
    "bundles_in",
    "peek",
    "read_bundle",
    "sync_folder",
    "write_bundle",
]
