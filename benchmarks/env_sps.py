"""Env-only steps/s of every native env (or those named), 4096 envs, 1 and 2 threads.

    python benchmarks/env_sps.py [--envs cartpole,squared] [--num-envs 4096] [--seconds 3]
                                 [--config key=value,...]   (env parameters, e.g. for mmo's sizes)

Prints one line per env: 1 and 2 threads, the 2-thread/1-thread ratio, the machine's own ceiling
for that ratio (two independent single-thread processes stepping the same env at once: on a VM
whose two vCPUs share a physical core this is far below 2x, and no thread pool can beat it), the
cost of the action check, and the ratio to the PufferLib 3.0 figure measured on a machine like ours (its build
downloads libraries from the internet and cannot be built here, so its figure is the recorded
one from shared/reference/peer-figures.md, not measured in this run).
"""
import argparse
import multiprocessing as mp
import os
import platform

import sailfish
from sailfish.bench import measure_env_sps
from sailfish.train.config import parse_assignments

# PufferLib 3.0, one core, 4096 envs, -O3 -march=native (peer-figures.md, 2026-11-24).
# (snake: 16 envs x 256 agents = 4096 agents; mmo ("nmmo3"): 4 worlds x 1024 agents, 512x512 maps.)
PUFFERLIB_M_SPS = {"cartpole": 36.0, "squared": 78.7, "pong": 36.0, "breakout": 5.58, "snake": 5.04, "mmo": 0.52}


def _one_process(args: tuple[str, int, float, dict]) -> float:
    name, num_envs, seconds, config = args
    return measure_env_sps(name, num_envs, 1, seconds, **config).steps_per_second


def two_process_ceiling(name: str, num_envs: int, seconds: float, config: dict) -> float:
    """Summed steps/s of two processes each stepping ``num_envs`` envs on one thread, at once."""
    with mp.get_context("spawn").Pool(2) as pool:
        return sum(pool.map(_one_process, [(name, num_envs, seconds, config)] * 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", default="")
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--config", default="", help="env parameters key=value[,key=value]")
    args = parser.parse_args()
    config = parse_assignments("--config", [p for p in args.config.split(",") if p])
    names = [n for n in args.envs.split(",") if n] or list(sailfish.envs.names())
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.num_envs} envs; random actions drawn in advance; load average {os.getloadavg()[0]:.2f}"
          + (f"; config {config}" if config else ""))
    print(f"{'env':<10} {'1 thread':>10} {'2 threads':>10} {'2t/1t':>6} {'2 procs/1t':>10} "
          f"{'no check':>10} {'check cost':>10} {'vs PufferLib':>12}")
    for name in names:
        one = measure_env_sps(name, args.num_envs, 1, args.seconds, **config).steps_per_second
        two = measure_env_sps(name, args.num_envs, 2, args.seconds, **config).steps_per_second
        unchecked = measure_env_sps(name, args.num_envs, 1, args.seconds, check_actions=False,
                                    **config).steps_per_second
        ceiling = two_process_ceiling(name, args.num_envs, args.seconds, config)
        # the peer's figure only compares at the peer's size: 4096 agents, and nmmo3's world for mmo
        rows = args.num_envs * sailfish.envs.spec(name, **config).agents_per_env
        nmmo3 = config.get("agents") == 1024 and config.get("map_size") == 512
        peer = PUFFERLIB_M_SPS.get(name) if (nmmo3 if name == "mmo" else rows == 4096) else None
        versus = f"{one / 1e6 / peer:.1f}x" if peer else "-"
        print(f"{name:<10} {one / 1e6:>8.1f}M {two / 1e6:>8.1f}M {two / one:>5.2f}x {ceiling / one:>9.2f}x "
              f"{unchecked / 1e6:>8.1f}M "
              f"{100 * (1 - one / unchecked):>9.1f}% {versus:>12}")


if __name__ == "__main__":
    main()
