"""Env-only steps/s of every native env (or those named), 4096 envs, 1 and 2 threads.

    python benchmarks/env_sps.py [--envs cartpole,squared] [--num-envs 4096] [--seconds 3]

Prints one line per env and thread count, the 2-thread/1-thread ratio, the cost of the action
check, and the ratio to the PufferLib 3.0 figure measured on a machine like ours (its build
downloads libraries from the internet and cannot be built here, so its figure is the recorded
one from shared/reference/peer-figures.md, not measured in this run).
"""
import argparse
import os
import platform

import sailfish
from sailfish.bench import measure_env_sps

# PufferLib 3.0, one core, 4096 envs, -O3 -march=native (peer-figures.md, 2026-11-24).
PUFFERLIB_M_SPS = {"cartpole": 36.0, "squared": 78.7, "pong": 36.0, "breakout": 5.58, "snake": 5.04}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", default="")
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    names = [n for n in args.envs.split(",") if n] or list(sailfish.envs.names())
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.num_envs} envs; random actions drawn in advance")
    print(f"{'env':<10} {'1 thread':>10} {'2 threads':>10} {'2t/1t':>6} {'no check':>10} {'check cost':>10} {'vs PufferLib':>12}")
    for name in names:
        one = measure_env_sps(name, args.num_envs, 1, args.seconds).steps_per_second
        two = measure_env_sps(name, args.num_envs, 2, args.seconds).steps_per_second
        unchecked = measure_env_sps(name, args.num_envs, 1, args.seconds, check_actions=False).steps_per_second
        peer = PUFFERLIB_M_SPS.get(name)
        versus = f"{one / 1e6 / peer:.1f}x" if peer else "-"
        print(f"{name:<10} {one / 1e6:>8.1f}M {two / 1e6:>8.1f}M {two / one:>5.2f}x {unchecked / 1e6:>8.1f}M "
              f"{100 * (1 - one / unchecked):>9.1f}% {versus:>12}")


if __name__ == "__main__":
    main()
