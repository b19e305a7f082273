"""What every adapter shares: its rows of the vector buffers, episode sums, and a name."""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from sailfish.spaces import ActionLayout, ObservationLayout


class Rows(NamedTuple):
    """One env's rows of the vector buffers (views; the adapter writes through them).

    ``action_masks``: legal-action masks ``bool [rows, width]`` (``sailfish.emulation.action_masks``),
    None when the env has none."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    truncations: np.ndarray
    masks: np.ndarray
    action_masks: np.ndarray | None = None

    @classmethod
    def allocate(cls, rows: int, obs: ObservationLayout, act: ActionLayout, mask_width: int = 0) -> "Rows":
        """Fresh zeroed buffers for ``rows`` rows (for using an adapter on its own); an
        ``action_masks`` buffer of ``mask_width`` columns when it is > 0."""
        return cls(np.zeros((rows, *obs.shape), obs.dtype), np.zeros((rows, *act.shape), act.dtype),
                   np.zeros(rows, np.float32), np.zeros(rows, np.bool_), np.zeros(rows, np.bool_),
                   np.zeros(rows, np.bool_), np.ones((rows, mask_width), np.bool_) if mask_width else None)

    def block(self, start: int, stop: int) -> "Rows":
        """Rows ``start:stop`` of every buffer (views)."""
        return Rows(*(None if b is None else b[start:stop] for b in self))


class EpisodeStats:
    """Running sums over finished episodes: ``totals = [episodes, return, length, score]``."""

    __slots__ = ("totals",)

    def __init__(self) -> None:
        self.totals = np.zeros(4, np.float64)

    def add(self, episode_return: float, length: int, score: float) -> None:
        self.totals += (1.0, episode_return, length, score)


def summarize(totals: np.ndarray) -> dict[str, float]:
    """Means from summed ``[episodes, return, length, score]``, keyed like the native envs'
    ``episode_stats()``; ``{}`` when no episode finished."""
    n = float(totals[0])
    if n <= 0:
        return {}
    return {"episodes": n, "episode_return": float(totals[1]) / n,
            "episode_length": float(totals[2]) / n, "score": float(totals[3]) / n}


def env_name(env: Any) -> str:
    """A short name for error messages: the Gymnasium id if registered, else a PettingZoo env's
    ``metadata["name"]`` (``simple_spread_v3``), else the class name."""
    spec = getattr(env, "spec", None)
    if getattr(spec, "id", None):
        return spec.id
    metadata = getattr(env, "metadata", None)
    if isinstance(metadata, dict) and isinstance(metadata.get("name"), str) and hasattr(env, "possible_agents"):
        return metadata["name"]
    return type(getattr(env, "unwrapped", env)).__name__
