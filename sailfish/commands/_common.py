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


class StrictParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that reports every usage problem, unknown options included, as one line
    ``<prog>: error: <message>`` on stderr and exits with status 2.

    argparse hands a subcommand's unknown arguments back to the top-level parser, whose error prints
    the usage over several lines and cannot say which option was meant; this parser refuses them
    itself, with the closest option it knows. ``sailfish.cli`` makes it the class of the top-level
    parser and of every subcommand's (``add_subparsers(parser_class=StrictParser)``).
    """

    def __init__(self, *args, **kwargs):
        # set before ArgumentParser.__init__, which adds -h/--help through add_argument
        self.option_names: list[str] = []
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        """``ArgumentParser.add_argument``, also remembering the option strings (for the hint)."""
        if kwargs.get("help") is not argparse.SUPPRESS:  # hidden (old) spellings are never suggested
            self.option_names += [a for a in args if isinstance(a, str) and a[:1] in self.prefix_chars]
        return super().add_argument(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        """Parse like ``ArgumentParser.parse_known_args``; any argument left over is an error, e.g.
        ``unrecognized argument --lrr (did you mean --lr?)``."""
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            bad = extras[0]
            close = difflib.get_close_matches(bad.split("=")[0], self.option_names, n=1)
            hint = f" (did you mean {close[0]}?)" if close and bad[:1] in self.prefix_chars else ""
            self.error(f"unrecognized argument {bad}{hint}")
        return namespace, extras

    def error(self, message: str) -> NoReturn:
        """One line on stderr, exit status 2 (argparse's default prints the usage first)."""
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())}\n")
