"""The `learnhub` command: one module per command group (main holds the group and `serve`),
all over the domain packages; `common` opens a data dir the way every command needs.
"""
