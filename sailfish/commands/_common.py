"""Helpers shared by the CLI subcommands: one-line errors (exit code 2) and strict argument parsing."""
from __future__ import annotations

import argparse
import difflib
import sys
from typing import NoReturn


def fail(command: str, message: str) -> NoReturn:
    """Print ``sailfish <command>: error: <message>`` on one line to stderr and exit with status 2."""
    print(f"sailfish {command}: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


def make_strict(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """Make ``parser`` report every problem, unknown options included, as one line and exit 2.

    argparse hands a subparser's unknown arguments back to the top-level parser, whose error prints
    usage over several lines; checking them here keeps the message to one line naming the option.
    """
    known = [s for a in parser._actions for s in a.option_strings]

    def error(message: str) -> NoReturn:
        fail(command, message)

    def parse_known_args(args=None, namespace=None):
        ns, extras = argparse.ArgumentParser.parse_known_args(parser, args, namespace)
        if extras:
            bad = extras[0]
            close = difflib.get_close_matches(bad.split("=")[0], known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            fail(command, f"unrecognized argument {bad}{hint}")
        return ns, extras

    parser.error = error
    parser.parse_known_args = parse_known_args
    return parser
