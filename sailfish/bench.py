"""Env-only throughput: steps per second of the native envs under random actions.

Shared by ``sailfish bench`` and ``benchmarks/env_sps.py``. Actions are drawn in advance (a
ring of batches), so the figure is the env's cost plus the real Python path a trainer pays per
step (one ``env.step`` call and one copy of the action batch), not the random generator's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

import sailfish

ACTION_BATCHES = 16


@dataclass(frozen=True)
class EnvSps:
    """One measurement: ``steps_per_second`` counts agent-steps (rows) per second."""

    env: str
    num_envs: int
    num_threads: int
    steps_per_second: float
    seconds: float


def draw_actions(env: sailfish.NativeVecEnv, batches: int, seed: int = 0) -> list[np.ndarray]:
    """``batches`` random action batches for ``env``, in the dtype and shape of its buffer."""
    rng = np.random.default_rng(seed)
    space = env.single_action_space
    if isinstance(space, gym.spaces.Discrete):
        return [rng.integers(0, space.n, env.actions.shape).astype(np.int32) for _ in range(batches)]
    if isinstance(space, gym.spaces.MultiDiscrete):
        return [rng.integers(0, space.nvec, env.actions.shape).astype(np.int32) for _ in range(batches)]
    return [rng.uniform(space.low, space.high, env.actions.shape).astype(np.float32) for _ in range(batches)]


def measure_env_sps(name: str, num_envs: int = 4096, num_threads: int = 1, seconds: float = 2.0,
                    check_actions: bool = True, **config) -> EnvSps:
    """Steps ``num_envs`` envs of ``name`` for about ``seconds`` (after a short warm-up).

    ``check_actions=False`` skips the action range check, to measure what it costs.
    """
    env = sailfish.make(name, num_envs=num_envs, seed=0, num_threads=num_threads, log_interval=0, **config)
    env.reset()
    actions = draw_actions(env, ACTION_BATCHES)
    native = env._native()
    buffer = env.actions

    def one_round() -> None:
        for batch in actions:
            np.copyto(buffer, batch)
            native.step(check_actions)

    for _ in range(4):
        one_round()
    rounds = 0
    start = time.perf_counter()
    while True:
        one_round()
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    env.close()
    steps = rounds * ACTION_BATCHES * env.num_envs
    return EnvSps(name, num_envs, num_threads, steps / elapsed, elapsed)
