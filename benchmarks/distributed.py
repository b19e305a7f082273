"""Data-parallel scaling on this machine, in one run: breakout's training SPS with 1 rank x 1 torch
thread, 2 ranks x 1 thread (torchrun, gloo) and 1 rank x 2 threads; ``--to-target``: wallclock to one
full wall (walls_cleared >= 1 over the episode window) for 1 and 2 ranks, median over seeds.

Each configuration is a real ``sailfish train`` (``torchrun -m sailfish train`` for 2 ranks); SPS is the
run's own figure (all ranks' samples / seconds of the session) from its last metrics row.

    python benchmarks/distributed.py [--steps 2e6] [--to-target --seeds 3 --minutes 10]
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def train(ranks: int, threads: int, extra: list[str], timeout: float) -> tuple[dict, float]:
    """One run; returns its last metrics row and its wallclock."""
    with tempfile.TemporaryDirectory() as runs:
        args = ["-m", "sailfish", "train", "breakout", "--quiet", "--runs-dir", runs, "--torch-threads", str(threads),
                "--checkpoint-interval", "0", *extra]
        launcher = [sys.executable] if ranks == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                       "--nproc-per-node", str(ranks)]
        start = time.perf_counter()
        subprocess.run(launcher + args, check=True, capture_output=True, timeout=timeout)
        seconds = time.perf_counter() - start
        (run_dir,) = Path(runs).iterdir()
        with open(run_dir / "metrics.csv", newline="") as f:
            return list(csv.DictReader(f))[-1], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=float, default=2e6, help="agent steps of each SPS run (all ranks; 0 = skip)")
    parser.add_argument("--to-target", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10, help="cap of each to-target run")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}")
    sps = {}
    for ranks, threads in (() if args.steps == 0 else ((1, 1), (2, 1), (1, 2))):
        row, _ = train(ranks, threads, ["--total-steps", str(int(args.steps))], timeout=1800)
        sps[(ranks, threads)] = float(row["sps"])
        print(f"breakout, {ranks} rank(s) x {threads} torch thread(s): {sps[(ranks, threads)]:,.0f} SPS", flush=True)
    if sps:
        base = sps[(1, 1)]
        print(f"2 ranks x 1 thread = {sps[(2, 1)] / base:.2f}x 1 rank x 1 thread; 1 rank x 2 threads = "
              f"{sps[(1, 2)] / base:.2f}x")
    if args.to_target:
        times: dict[int, list[float]] = {1: [], 2: []}
        for seed in range(args.seeds):  # seeds outermost: a partial run still compares like with like
            for ranks in (1, 2):
                row, seconds = _to_one_wall(ranks, seed, args.minutes)
                reached = float(row["episode/return"]) >= 432 / 7
                times[ranks].append(seconds if reached else float("inf"))
                print(f"  {ranks} rank(s), seed {seed}: {seconds:.0f} s, return {float(row['episode/return']):.1f}"
                      f"{'' if reached else ' (not reached)'}", flush=True)
        for ranks in (1, 2):
            print(f"{ranks} rank(s): median {statistics.median(times[ranks]):.0f} s to one wall over {args.seeds} seeds")


def _to_one_wall(ranks: int, seed: int, minutes: float) -> tuple[dict, float]:
    """Breakout until the window's mean walls_cleared >= 1 (a score of one wall: 432 points), capped."""
    # the trainer stops on target_return; one wall is 432 points = 432 / 7 return (reward = points / 7)
    return train(ranks, 1, ["--seed", str(seed), "--target-return", str(432 / 7)], timeout=minutes * 60 + 120)


if __name__ == "__main__":
    main()
