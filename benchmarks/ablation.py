"""A 5-seed x 4-variant ablation of cartpole end to end, and the overhead of the ablation machinery.

    python benchmarks/ablation.py [--env cartpole] [--seeds 5] [--workers 2] [--total-steps N]

Prints the end-to-end wallclock (spawning workers, every run, statistics, report and plot) and the
overhead over the ideal: the sum of the runs' training times (``Trainer.run()``) divided by the
workers. Runs go to a temporary directory, so every invocation runs everything.
"""
from __future__ import annotations

import argparse
import tempfile
import time

from rich.console import Console

from sailfish.ablate import run_ablation
from sailfish.ablate.spec import build_variants


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default="cartpole")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--total-steps", default=None, help="default: the env's own total_steps")
    args = p.parse_args()
    variants = build_variants(["lr=2.5e-3,5e-3", "clip_coef=0.1,0.2"], [])
    common = {"log_seconds": 0.2}
    if args.total_steps:
        common["total_steps"] = args.total_steps
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = run_ablation(args.env, variants, args.seeds, "bench", runs_dir=tmp, common=common,
                           workers=args.workers, console=console)
        total = time.perf_counter() - start
    from sailfish.ablate.report import print_table

    print_table(console, out.rows, f"{args.env}: {len(variants)} variants x {args.seeds} seeds")
    train = sum(r["train_seconds"] for r in out.ran)
    run = sum(r["run_seconds"] for r in out.ran)
    ideal = train / args.workers
    print(f"runs: {len(out.ran)} ok, {len(out.failures)} failed; workers: {args.workers}")
    print(f"end to end: {total:.1f} s (runs phase {out.wall_seconds:.1f} s)")
    print(f"ideal (sum of Trainer.run() times / workers): {ideal:.1f} s -> overhead {100 * (total / ideal - 1):.1f}%")
    print(f"ideal incl. env + trainer construction per run: {run / args.workers:.1f} s -> "
          f"overhead {100 * (total / (run / args.workers) - 1):.1f}%")


if __name__ == "__main__":
    main()
