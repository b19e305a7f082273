"""Implementations of the ``sailfish`` CLI subcommands: each module has ``add_parser(subparsers)`` and
``run(args)``."""
