"""The memory env needs memory: the LSTM policy against the plain MLP, same budget, same seeds.

Trains ``memory`` (a bit shown at the first step must be reported ``delay`` steps later; guessing
scores 0.5) with ``recurrent = true`` and ``false`` for the same number of steps, and prints the
final score (fraction answered right over the latest episodes) and wallclock of each.

    python benchmarks/memory_lstm.py [--seeds 3] [--steps 300000]
"""
from __future__ import annotations

import argparse
import statistics
import time

import sailfish
from sailfish.train import Config, Trainer


def train(seed: int, steps: int, recurrent: bool) -> tuple[float, float]:
    config = Config.load("memory", {"seed": seed, "total_steps": steps, "recurrent": recurrent, "runs_dir": ""})
    env = sailfish.make("memory", num_envs=config.num_envs, seed=seed, log_interval=0)
    start = time.perf_counter()
    trainer = Trainer(env, config=config)
    trainer.run()
    return trainer.episodes.mean("score"), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300_000)
    args = parser.parse_args()
    for recurrent in (True, False):
        results = [train(seed, args.steps, recurrent) for seed in range(args.seeds)]
        scores = [r[0] for r in results]
        print(f"{'LSTM' if recurrent else 'MLP ':<4}: score per seed {', '.join(f'{s:.3f}' for s in scores)}; "
              f"median {statistics.median(scores):.3f}; median wallclock {statistics.median(r[1] for r in results):.1f} s "
              f"for {args.steps:,} steps")


if __name__ == "__main__":
    main()
