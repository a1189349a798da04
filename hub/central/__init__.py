"""The central server's web face: staff pages and the sync API, over sync/central's logic."""
