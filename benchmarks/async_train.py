"""Training SPS of a slow Python env collected in async batches, against the env-only async figure.

The env is ``benchmarks/vector_sps.py``'s slow CartPole (100 µs of busy-waiting per step), in
``--workers`` processes with 32 envs each, stepped in async batches of half the envs
(``Config.env_batch_size``). "env only" is ``vector_sps.py``'s method (random actions, no policy,
``recv``/``send`` on the same vector env layout); "training" is ``Trainer.run()`` with the default
MLP policy for ``--seconds`` of wallclock. The issue's target: training >= 90% of env only.

    python benchmarks/async_train.py                    # ~1 min
    python benchmarks/async_train.py --seconds 3        # a smoke run
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sailfish  # noqa: E402
from sailfish.train import Config, Trainer  # noqa: E402
from vector_sps import sailfish_sps, slow  # noqa: E402


def train_sps(num_envs: int, workers: int, batch_size: int, seconds: float) -> float:
    """Agent steps per second of ``Trainer.run()`` over ``seconds`` (the first update excluded)."""
    config = Config(num_envs=num_envs, env_batch_size=batch_size, num_workers=workers, rollout_steps=64,
                    bptt_horizon=16, minibatch_size=num_envs * 16, update_epochs=4, total_steps=10**12,
                    runs_dir="", log_seconds=0)
    env = sailfish.vector.make(slow, num_envs=num_envs, backend="multiprocessing", num_workers=workers,
                               batch_size=batch_size, seed=0, log_interval=0)
    try:
        trainer = Trainer(env, config=config)
        trainer.iteration()  # warm-up: first forward passes, worker start
        start, steps = time.perf_counter(), trainer.global_step
        while time.perf_counter() - start < seconds:
            trainer.iteration()
        return (trainer.global_step - steps) / (time.perf_counter() - start)
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per-worker", type=int, default=32, help="envs per worker")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each timed run")
    args = parser.parse_args()
    num_envs = args.workers * args.per_worker
    batch = num_envs // 2
    env_only = sailfish_sps(slow, num_envs, args.workers, args.seconds, batch_size=batch)
    training = train_sps(num_envs, args.workers, batch, args.seconds)
    print(f"slow env (100 us/step), {args.workers} workers x {args.per_worker} envs, async batches of {batch}")
    print(f"  env only (vector_sps.py's method): {env_only:10.0f} steps/s")
    print(f"  training (async collection):       {training:10.0f} steps/s  ({100 * training / env_only:.0f}%)")


if __name__ == "__main__":
    main()
