"""HTTP views, one module per face: pages for people, JSON for programs, files for both."""
