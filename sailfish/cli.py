"""The ``sailfish`` command: dispatches to the subcommands in ``sailfish.commands``."""
from __future__ import annotations

import argparse
import importlib
import sys

from sailfish._extras import MissingExtra
from sailfish.commands._common import StrictParser, fail

SUBCOMMANDS = ("train", "eval", "envs", "bench", "ablate", "sweep")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered; each reports bad input as one line
    ``sailfish <command>: error: ...`` with exit status 2 (``StrictParser``)."""
    parser = StrictParser(prog="sailfish", description="Reinforcement learning at millions of steps per second.")
    subparsers = parser.add_subparsers(dest="command", metavar="{" + ",".join(SUBCOMMANDS) + "}",
                                       parser_class=StrictParser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"sailfish.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status (2 and one line on stderr for bad
    input or a feature whose optional package is missing)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except MissingExtra as e:
        fail(args.command, str(e))


if __name__ == "__main__":
    sys.exit(main())
