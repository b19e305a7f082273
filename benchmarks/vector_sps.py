"""Env steps per second of ``sailfish.vector.Multiprocessing`` vs ``gymnasium.vector.AsyncVectorEnv``.

Both run Gymnasium's CartPole-v1 (fast: a few µs of Python per step) and a slow CartPole that
busy-waits 100 µs per step, with the same number of worker processes, in the same run, with
random actions and no policy. Single-env steps/s (a plain loop in this process) are measured
in the same run too, so "ideal" for the slow env is ``workers × single``; "independent processes"
is what the cores give that plain loop with no vector env at all (this machine's own ceiling).
The slow env is also run with 4x the envs per worker, sync and in async batches of half.

    python benchmarks/vector_sps.py                     # 2 workers, ~2.5 min
    python benchmarks/vector_sps.py --seconds 1 --repeats 1

The "spin 20 µs" line polls a shared counter before sleeping in the pipe read (the
``spin_us`` option), to compare that handshake with plain pipes.
Each figure is the median of ``--repeats`` timed runs of ``--seconds`` each, interleaved.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import gymnasium as gym
import numpy as np

from sailfish.vector import Multiprocessing


class Slow(gym.Wrapper):
    """CartPole-v1 that busy-waits ``delay`` seconds per step (a stand-in for a heavy simulator)."""

    def __init__(self, delay: float = 100e-6):
        super().__init__(gym.make("CartPole-v1"))
        self.delay = delay

    def step(self, action):
        end = time.perf_counter() + self.delay
        while time.perf_counter() < end:
            pass
        return self.env.step(action)


def fast() -> gym.Env:
    return gym.make("CartPole-v1")


def slow() -> gym.Env:
    return Slow()


def single_sps(creator, seconds: float) -> float:
    env = creator()
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, 4096)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for i in range(256):
            _, _, terminated, truncated, _ = env.step(actions[(steps + i) % 4096])
            if terminated or truncated:
                env.reset()
        steps += 256
    sps = steps / (time.perf_counter() - start)
    env.close()
    return sps


def _single_slow(seconds: float) -> float:
    return single_sps(slow, seconds)


def independent_sps(workers: int, seconds: float) -> float:
    """``workers`` processes each stepping one slow env in a plain loop, summed: what the cores give
    with no vector env at all (the machine's own ceiling for the slow env)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return sum(pool.map(_single_slow, [seconds] * workers))


def gymnasium_sps(creator, workers: int, seconds: float) -> float:
    env = gym.vector.AsyncVectorEnv([creator] * workers)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, (4096, workers))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for i in range(64):
            env.step(actions[(steps + i) % 4096])
        steps += 64
    sps = steps * workers / (time.perf_counter() - start)
    env.close()
    return sps


def sailfish_sps(creator, num_envs: int, workers: int, seconds: float, batch_size: int | None = None,
                 spin_us: float = 0.0) -> float:
    env = Multiprocessing(creator, num_envs, num_workers=workers, batch_size=batch_size, seed=0, spin_us=spin_us)
    actions = np.random.default_rng(0).integers(0, 2, (4096, num_envs)).astype(np.int32)
    env.reset()
    steps, start = 0, time.perf_counter()
    if batch_size is None:
        while time.perf_counter() - start < seconds:
            for i in range(64):
                env.step(actions[(steps + i) % 4096])
            steps += 64
        rows = steps * num_envs
    else:  # EnvPool-style: act on one batch while the others step
        env.async_reset()
        batches = 0
        while time.perf_counter() - start < seconds:
            for i in range(64):
                env.recv()
                env.send(actions[(batches + i) % 4096, :batch_size])
            batches += 64
        rows = batches * batch_size
    sps = rows / (time.perf_counter() - start)
    env.close()
    return sps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0, help="per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--envs-per-worker", type=int, default=8)
    args = parser.parse_args()
    w, per, s = args.workers, args.envs_per_worker, args.seconds

    cases = {
        "fast": [
            ("single env, this process", lambda: single_sps(fast, s)),
            (f"gymnasium AsyncVectorEnv, {w} envs", lambda: gymnasium_sps(fast, w, s)),
            (f"sailfish Multiprocessing, {w} envs (1/worker)", lambda: sailfish_sps(fast, w, w, s)),
            (f"sailfish Multiprocessing, {w * per} envs", lambda: sailfish_sps(fast, w * per, w, s)),
            (f"sailfish Multiprocessing, {w * per} envs, async batch {w * per // 2}",
             lambda: sailfish_sps(fast, w * per, w, s, batch_size=w * per // 2)),
            (f"sailfish Multiprocessing, {w * per} envs, spin 20 µs",
             lambda: sailfish_sps(fast, w * per, w, s, spin_us=20)),
        ],
        "slow (100 µs/step)": [
            ("single env, this process", lambda: single_sps(slow, s)),
            (f"gymnasium AsyncVectorEnv, {w} envs", lambda: gymnasium_sps(slow, w, s)),
            (f"{w} independent processes, 1 env each (no vector env)", lambda: independent_sps(w, s)),
            (f"sailfish Multiprocessing, {w} envs (1/worker)", lambda: sailfish_sps(slow, w, w, s)),
            (f"sailfish Multiprocessing, {w * per} envs", lambda: sailfish_sps(slow, w * per, w, s)),
            (f"sailfish Multiprocessing, {w * per} envs, async batch {w * per // 2}",
             lambda: sailfish_sps(slow, w * per, w, s, batch_size=w * per // 2)),
            # more envs per worker: the round trip per step is shared by more env steps
            (f"sailfish Multiprocessing, {w * per * 4} envs", lambda: sailfish_sps(slow, w * per * 4, w, s)),
            (f"sailfish Multiprocessing, {w * per * 4} envs, async batch {w * per * 2}",
             lambda: sailfish_sps(slow, w * per * 4, w, s, batch_size=w * per * 2)),
        ],
    }
    load_before = os.getloadavg()[0]
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):
        for env_name, runs in cases.items():
            for label, run in runs:
                results.setdefault((env_name, label), []).append(run())

    print(f"workers: {w}; median of {args.repeats} runs of {s:.1f} s; env steps per second")
    print(f"machine: {os.cpu_count()} CPUs, 1-min load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after (other processes share the cores: ideal assumes {w} free ones)")
    for env_name, runs in cases.items():
        single = statistics.median(results[(env_name, runs[0][0])])
        baseline = statistics.median(results[(env_name, runs[1][0])])
        print(f"\n{env_name}: ideal = {w} × single = {w * single:,.0f}")
        for label, _ in runs:
            sps = statistics.median(results[(env_name, label)])
            print(f"  {label:<52} {sps:>10,.0f}   {sps / baseline:5.2f}× gymnasium   "
                  f"{sps / (w * single):6.1%} of ideal")


if __name__ == "__main__":
    main()
