"""``sailfish envs``: the registered native envs with their spaces and config parameters."""
from __future__ import annotations

import argparse


COMMAND = "envs"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``envs`` on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(COMMAND, help="list the native envs", description=__doc__, allow_abbrev=False)
    p.set_defaults(run=run)
    return p  # a StrictParser (sailfish.cli): bad input is one line, exit status 2


def run(args: argparse.Namespace) -> int:
    import sailfish
    from rich.console import Console
    from rich.table import Table

    from sailfish.envs import _space_str

    table = Table(title="Native environments (sailfish.make(name, **config))")
    for column in ("env", "observation", "actions", "agents", "config (default)", "what it is"):
        table.add_column(column)
    for name, spec in sailfish.envs.names().items():
        params = ", ".join(f"{p['name']}={p['default']}" for p in spec.params)
        table.add_row(name, _space_str(spec.observation_space), _space_str(spec.action_space),
                      str(spec.agents_per_env), params, spec.doc)
    Console().print(table)
    return 0
