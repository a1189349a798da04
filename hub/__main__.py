"""`python -m hub` is the same as `learnhub`."""

from hub.cli import main

main()
