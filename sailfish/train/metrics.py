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
    """Accumulates one update's figures as tensors (no device sync until they are read), per member."""

    def __init__(self, num_members: int = 1):
        self.num_members = num_members
        self.terms: list[torch.Tensor] = []  # per minibatch: [K, 3] policy_loss, value_loss, entropy
        self.explained_variance: torch.Tensor | None = None

    def add_minibatch(self, policy_loss: torch.Tensor, value_loss: torch.Tensor, entropy: torch.Tensor) -> None:
        """One minibatch's loss terms: scalars, or ``[K]`` for a population."""
        self.terms.append(torch.stack([policy_loss, value_loss, entropy], -1).detach().reshape(self.num_members, 3))

    def per_member_explained_variance(self, exp, padded: bool) -> torch.Tensor:
        """``ppo.explained_variance`` of each member's live samples: ``[K]``."""
        if self.num_members == 1:
            return ppo.explained_variance(exp.live_samples(exp.values, padded),
                                          exp.live_samples(exp.returns, padded)).reshape(1)
        return torch.stack([ppo.explained_variance(v, r) for v, r in self._member_samples(exp, padded,
                                                                                        exp.values, exp.returns)])

    def _member_samples(self, exp, padded: bool, *fields: torch.Tensor):
        K = self.num_members
        blocks = [x.reshape(K, -1) for x in fields]
        masks = exp.masks.reshape(K, -1) if padded else None
        for k in range(K):
            yield tuple(b[k] if masks is None else b[k][masks[k]] for b in blocks)

    def summary(self, exp, padded: bool, clip_coefs: list[float], lrs: list[float]) -> "LastUpdate":
        """The figures of the finished update, from each member's live samples' latest ratios."""
        with torch.no_grad():
            mean = torch.stack(self.terms).mean(0)
            if self.num_members == 1:
                ratios = exp.live_samples(exp.ratios, padded)
                kl = ppo.approx_kl(ratios.log()).reshape(1)
                clip = ppo.clipfrac(ratios, clip_coefs[0]).reshape(1)
            else:
                member_ratios = [r for (r,) in self._member_samples(exp, padded, exp.ratios)]
                kl = torch.stack([ppo.approx_kl(r.log()) for r in member_ratios])
                clip = torch.stack([ppo.clipfrac(r, c) for r, c in zip(member_ratios, clip_coefs)])
            return LastUpdate(mean, kl, clip, self.explained_variance, list(lrs))


@dataclass
class LastUpdate:
    """Tensors of the latest update's figures, one row per member; ``as_floats`` syncs with the
    device (once per log)."""

    terms: torch.Tensor
    approx_kl: torch.Tensor
    clipfrac: torch.Tensor
    explained_variance: torch.Tensor
    lr: list[float]

    def as_floats(self, member: int = 0) -> dict[str, float]:
        """Member ``member``'s figures, named as CleanRL names them."""
        policy_loss, value_loss, entropy = self.terms[member].tolist()
        return {"losses/policy_loss": policy_loss, "losses/value_loss": value_loss, "losses/entropy": entropy,
                "losses/approx_kl": float(self.approx_kl[member]), "losses/clipfrac": float(self.clipfrac[member]),
                "losses/explained_variance": float(self.explained_variance[member]),
                "charts/learning_rate": self.lr[member]}


def episode_metrics(window: EpisodeWindow) -> dict[str, float]:
    """``episode/return``, ``episode/length``, ``episode/score`` and ``episode/count`` of the window."""
    out = {f"episode/{key.replace('episode_', '')}": window.mean(key)
           for key in ("episode_return", "episode_length", "score")}
    out["episode/count"] = float(window.count)
    return out
