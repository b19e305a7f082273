"""``sailfish bench [--envs a,b] [--num-envs N] [--threads 1,2] [--seconds S]``: env-only steps/s."""
from __future__ import annotations

import argparse

from sailfish.commands._common import fail

COMMAND = "bench"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``bench`` on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(COMMAND, help="measure env-only steps per second",
                              description=__doc__, allow_abbrev=False)
    p.add_argument("--envs", default="", help="comma-separated env names (default: all)")
    p.add_argument("--num-envs", type=int, default=4096, help="envs stepped per call (default 4096)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--seconds", type=float, default=1.0, help="measuring time per row (default 1)")
    p.set_defaults(run=run)
    return p  # a StrictParser (sailfish.cli): bad input is one line, exit status 2


def run(args: argparse.Namespace) -> int:
    import sailfish
    from rich.console import Console
    from rich.table import Table

    from sailfish.bench import measure_env_sps

    names = [n for n in args.envs.split(",") if n] or list(sailfish.envs.names())
    unknown = [n for n in names if n not in sailfish.envs.names()]
    if unknown:
        fail(COMMAND, f"unknown env {unknown[0]!r} (see `sailfish envs`)")
    try:
        threads = [int(t) for t in args.threads.split(",") if t]
    except ValueError:
        fail(COMMAND, f"--threads must be integers like 1,2, got {args.threads!r}")
    if args.num_envs < 1 or not threads or min(threads) < 1 or args.seconds <= 0:
        fail(COMMAND, "--num-envs, --threads and --seconds must be positive")

    console = Console()
    table = Table(title=f"Env-only steps/s, {args.num_envs} envs, random actions drawn in advance")
    table.add_column("env")
    for t in threads:
        table.add_column(f"{t} thread{'s' if t > 1 else ''} (M/s)", justify="right")
    if len(threads) > 1:
        table.add_column(f"{threads[-1]}t / {threads[0]}t", justify="right")
    with console.status("measuring...") as status:
        for name in names:
            figures = []
            for t in threads:
                status.update(f"measuring {name}, {t} thread(s)...")
                figures.append(measure_env_sps(name, args.num_envs, t, args.seconds).steps_per_second)
            row = [name] + [f"{f / 1e6:.1f}" for f in figures]
            if len(threads) > 1:
                row.append(f"{figures[-1] / figures[0]:.2f}x")
            table.add_row(*row)
    console.print(table)
    return 0
