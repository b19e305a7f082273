"""``NormalizeReward``: rewards divided by a running estimate of the discounted return's std, in place.

Continuous-control rewards come in every scale (Pendulum's are about -1e1 per step, Hopper's about
+3); PPO's value loss and its clipped value targets assume returns near unit scale. The usual fix
(Engstrom et al. 2020, "Implementation Matters"; CleanRL's and SB3's ``VecNormalize``) divides each
reward by the std of the discounted return, without subtracting a mean, so the sign of rewards and
the optimal policy are unchanged.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class NormalizeReward:
    """Wraps a Sailfish vector env; after each ``step`` its ``rewards`` buffer is scaled in place.

    Per row it keeps the discounted return since the episode began, ``G = gamma * G + r``, and a
    running variance of ``G`` over every row and step seen (Chan et al.'s parallel update); the
    reward handed on is ``r / sqrt(var + eps)``, clipped to ``±clip``. The statistics are updated
    from the rewards passing through, before scaling. ``episode_stats()`` is the wrapped env's, so
    the returns reported stay the unscaled ones. Every other attribute is the wrapped env's.
    ``state_dict()`` / ``load_state_dict()`` carry the statistics across a resumed run (the
    trainer's checkpoints hold them).

    Args:
        env: a vector env with Sailfish's row buffers (``rewards``, ``terminals``, ``truncations``).
        gamma: the discount of the return whose scale is estimated (the trainer's ``gamma``).
        clip: bound on the scaled reward (10, as in CleanRL and SB3).
        eps: added to the variance before the square root.
    """

    def __init__(self, env, gamma: float = 0.99, clip: float = 10.0, eps: float = 1e-8):
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma: must be in [0, 1], got {gamma!r}")
        self.env, self.gamma, self.clip, self.eps = env, float(gamma), float(clip), float(eps)
        self.returns = np.zeros(env.rewards.shape[0], np.float64)
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def __getattr__(self, name: str) -> Any:  # buffers, spaces, num_rows, render, ...: the env's own
        return getattr(self.env, name)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """The env's reset; returns in progress start again from zero (the statistics are kept)."""
        self.returns[:] = 0.0
        return self.env.reset(seed=seed, options=options)

    def step(self, actions: Any):
        """The env's step, with its ``rewards`` buffer scaled in place; returns what the env returns."""
        out = self.env.step(actions)
        rewards = self.env.rewards
        self.returns *= self.gamma
        self.returns += rewards
        self._update(self.returns)
        np.multiply(rewards, 1.0 / np.sqrt(self.var + self.eps), out=rewards, casting="unsafe")
        np.clip(rewards, -self.clip, self.clip, out=rewards)
        self.returns[self.env.terminals | self.env.truncations] = 0.0
        return out

    def state_dict(self) -> dict[str, float]:
        """The running statistics of the return (numbers only, safe in a checkpoint). The returns in
        progress are not kept: a resumed run starts fresh episodes (``reset`` zeroes them)."""
        return {"mean": float(self.mean), "var": float(self.var), "count": float(self.count)}

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Continue from statistics saved by ``state_dict``."""
        self.mean, self.var, self.count = float(state["mean"]), float(state["var"]), float(state["count"])

    def _update(self, x: np.ndarray) -> None:
        n = x.size
        batch_mean, batch_var = float(x.mean()), float(x.var())
        total = self.count + n
        delta = batch_mean - self.mean
        self.var = (self.var * self.count + batch_var * n + delta * delta * self.count * n / total) / total
        self.mean += delta * n / total
        self.count = total

    def close(self, **kwargs: Any) -> None:
        """Closes the wrapped env."""
        self.env.close(**kwargs)

    def __repr__(self) -> str:
        return f"NormalizeReward({self.env!r}, gamma={self.gamma})"


def reward_normalizers(env, members: int = 1) -> list[NormalizeReward | None]:
    """Each population member's ``NormalizeReward`` in ``env`` (None for a member without one): ``env``
    itself for one member, or the members of a population's ``MemberEnvs`` (each its own)."""
    from sailfish.vector.members import MemberEnvs

    if isinstance(env, MemberEnvs):
        return [m if isinstance(m, NormalizeReward) else None for m in env.members]
    if members == 1 and isinstance(env, NormalizeReward):
        return [env]
    return [None] * members
