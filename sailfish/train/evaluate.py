"""Measuring a policy on a vector env without training it."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch


def mean_episode_stat(env: Any, policy: torch.nn.Module | None, ticks: int, key: str, seed: int
                      ) -> tuple[float, float]:
    """Steps ``env`` ``ticks`` times from ``reset(seed=seed)`` and averages the episode statistic
    ``key`` over every episode that ended in that time; returns ``(mean, episodes)``.

    ``policy`` samples actions (feedforward policies) from a torch generator seeded with ``seed``;
    ``None`` plays uniformly random actions from a NumPy generator seeded with ``seed``. So a figure
    is the same on every run, and a policy and random play are compared on the same worlds,
    censored the same way. The env is left open. The policy samples under the env's
    legal-action masks (``env.action_masks``) when it has them; random play ignores them.
    """
    env.reset(seed=seed)
    env.episode_stats()  # drop anything left from before
    rng = np.random.default_rng(seed)
    # not torch's global generator: its seed differs from process to process
    generator = torch.Generator().manual_seed(seed)
    space = env.single_action_space
    obs = torch.from_numpy(env.observations)
    action_masks = getattr(env, "action_masks", None)
    action_masks = None if action_masks is None else torch.from_numpy(action_masks)
    episodes = total = 0.0
    with torch.inference_mode():
        for _ in range(ticks):
            if policy is not None:
                params, _, _ = policy(obs, None)
                env.actions[:] = policy.dist.sample(params, generator, action_masks)[0].numpy()
            elif isinstance(space, gym.spaces.MultiDiscrete):
                env.actions[:] = rng.integers(0, space.nvec, size=env.actions.shape)
            elif isinstance(space, gym.spaces.Discrete):
                env.actions[:] = rng.integers(0, space.n, size=env.actions.shape)
            else:
                env.actions[:] = rng.uniform(space.low, space.high, size=env.actions.shape)
            env.step(env.actions)
            stats = env.episode_stats()
            if stats.get("episodes"):
                episodes += stats["episodes"]
                total += stats["episodes"] * stats[key]
    return (total / episodes if episodes else float("nan")), episodes
