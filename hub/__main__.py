"""`python -m hub` is the same as `learnhub`."""

from hub.cli.main import main

main()
