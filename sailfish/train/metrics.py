"""What a training run reports: episode statistics over a window, and each update's figures.

Every figure means one thing whatever the hyperparameters: the loss terms are means over all the
minibatches of an update (``losses/entropy`` included, whether or not ``ent_coef`` puts it in the
loss), and ``approx_kl`` / ``clipfrac`` are over each live sample's latest ratio.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from sailfish.train import ppo

TIMERS = ("env", "forward", "learn", "other")


class EpisodeWindow:
    """Weighted means of the most recent episode statistics covering at least ``min_episodes`` episodes.

    Fed the dicts ``env.episode_stats()`` returns (means plus an ``episodes`` count).
    """

    def __init__(self, min_episodes: int):
        self.min_episodes = max(1, min_episodes)
        self.batches: list[dict[str, float]] = []

    def add(self, stats: dict[str, float]) -> None:
        """Append one drain of episode statistics; drop batches no longer needed for the window."""
        if stats and stats.get("episodes", 0) > 0:
            self.batches.append(stats)
            count = 0
            for i in range(len(self.batches) - 1, -1, -1):
                count += self.batches[i]["episodes"]
                if count >= self.min_episodes:
                    del self.batches[:i]
                    break

    @property
    def count(self) -> int:
        """Episodes in the window."""
        return int(sum(b["episodes"] for b in self.batches))

    def full(self) -> bool:
        """True once the window holds at least ``min_episodes`` episodes."""
        return self.count >= self.min_episodes

    def mean(self, key: str) -> float:
        """Episode-weighted mean of ``key`` over the window (NaN when empty)."""
        total = sum(b["episodes"] for b in self.batches if key in b)
        if not total:
            return math.nan
        return sum(b[key] * b["episodes"] for b in self.batches if key in b) / total


class UpdateStats:
    """Accumulates one update's figures as tensors (no device sync until ``summary``)."""

    def __init__(self):
        self.terms: list[torch.Tensor] = []  # per minibatch: [policy_loss, value_loss, entropy]
        self.explained_variance: torch.Tensor | None = None

    def add_minibatch(self, policy_loss: torch.Tensor, value_loss: torch.Tensor, entropy: torch.Tensor) -> None:
        self.terms.append(torch.stack([policy_loss, value_loss, entropy]).detach())

    def summary(self, ratios: torch.Tensor, clip_coef: float, lr: float) -> "LastUpdate":
        """The figures of the finished update; ``ratios``: every live sample's latest ratio."""
        with torch.no_grad():
            mean = torch.stack(self.terms).mean(0)
            return LastUpdate(mean, ppo.approx_kl(ratios.log()), ppo.clipfrac(ratios, clip_coef),
                              self.explained_variance, lr)


@dataclass
class LastUpdate:
    """Tensors of the latest update's figures; ``as_floats`` syncs with the device (once per log)."""

    terms: torch.Tensor
    approx_kl: torch.Tensor
    clipfrac: torch.Tensor
    explained_variance: torch.Tensor
    lr: float

    def as_floats(self) -> dict[str, float]:
        policy_loss, value_loss, entropy = self.terms.tolist()
        return {"losses/policy_loss": policy_loss, "losses/value_loss": value_loss, "losses/entropy": entropy,
                "losses/approx_kl": float(self.approx_kl), "losses/clipfrac": float(self.clipfrac),
                "losses/explained_variance": float(self.explained_variance), "charts/learning_rate": self.lr}


def episode_metrics(window: EpisodeWindow) -> dict[str, float]:
    """``episode/return``, ``episode/length``, ``episode/score`` and ``episode/count`` of the window."""
    out = {f"episode/{key.replace('episode_', '')}": window.mean(key)
           for key in ("episode_return", "episode_length", "score")}
    out["episode/count"] = float(window.count)
    return out
