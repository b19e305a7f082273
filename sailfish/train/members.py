"""A population's members: which settings may differ between them, and the per-member reductions.

Members train in lockstep in one ``Trainer``: one env whose rows are member-major blocks
(``sailfish.vector.members``), one stacked policy (``sailfish.policies.stacked``), one batched
update. What must stay apart does: each member's loss is the mean over its own samples, its
advantages are normalised over its own minibatch, its gradient is clipped by its own norm, and its
Adam step uses its own learning rate and step count. A population of one is the ordinary run.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Sequence

import torch

from sailfish.train.config import PER_MEMBER, Config

def check_members(configs: Sequence[Config]) -> None:
    """Raises ``ValueError`` naming the first shared key on which two members differ."""
    if not configs:
        raise ValueError("population: needs at least one member config")
    first = configs[0]
    for k, config in enumerate(configs[1:], 1):
        for f in fields(Config):
            if f.name not in PER_MEMBER and getattr(config, f.name) != getattr(first, f.name):
                raise ValueError(
                    f"{f.name}: population members must share it (member 0 has {getattr(first, f.name)!r}, "
                    f"member {k} {getattr(config, f.name)!r}); per member may differ only: {', '.join(PER_MEMBER)}")


class MemberValues:
    """Per-member scalar hyperparameters: a Python float when every member has the same value (the
    ordinary run's fast path, bit for bit), else a ``[K, 1, 1]`` tensor broadcasting over
    ``[K, segments, steps]`` sample tensors."""

    def __init__(self, configs: Sequence[Config], device: torch.device):
        self.num_members = len(configs)
        self._values = {}
        for key in PER_MEMBER:
            if key in ("seed", "runs_dir"):
                continue
            values = [float(getattr(c, key)) for c in configs]
            if len(set(values)) == 1:
                self._values[key] = values[0]
            else:
                self._values[key] = torch.tensor(values, device=device).view(-1, 1, 1)
        self.lists = {key: [float(getattr(c, key)) for c in configs] for key in self._values}

    def __getitem__(self, key: str) -> float | torch.Tensor:
        return self._values[key]

    def per_member(self, key: str) -> list[float]:
        """The K values of ``key``."""
        return self.lists[key]


def member_means(x: torch.Tensor, num_members: int) -> torch.Tensor:
    """Mean of each member's block of ``x`` (member-major, any shape): ``[K]``."""
    return x.reshape(num_members, -1).mean(1)


def normalize_member_advantages(advantages: torch.Tensor, weights: torch.Tensor | None, eps: float = 1e-8
                                ) -> torch.Tensor:
    """Zero mean, unit std within each member's block ``advantages [K, ...]`` (``weights``: live samples,
    mean 1 per member, 0 on padding rows)."""
    K = advantages.shape[0]
    flat = advantages.reshape(K, -1)
    if weights is None:
        mean = flat.mean(1, keepdim=True)
        std = flat.std(1, keepdim=True)
    else:
        w = weights.reshape(K, -1)
        mean = torch.where(w > 0, flat * w, 0.0).mean(1, keepdim=True)
        std = torch.where(w > 0, (flat - mean).square() * w, 0.0).mean(1, keepdim=True).sqrt()
    return ((flat - mean) / (std + eps)).view_as(advantages)


@torch.no_grad()
def clip_member_grad_norms_(params: list[torch.Tensor], max_norm: float | torch.Tensor) -> torch.Tensor:
    """Scale each member's gradient (the ``[K, ...]`` slices of stacked ``params``) so its own global
    L2 norm is at most ``max_norm`` (a float, or ``[K, 1, 1]`` per member); returns the ``[K]`` norms."""
    grads = [p.grad for p in params if p.grad is not None]
    K = grads[0].shape[0]
    squares = torch.stack([g.reshape(K, -1).square().sum(1) for g in grads]).sum(0)
    norms = squares.sqrt()
    limit = max_norm.reshape(K) if isinstance(max_norm, torch.Tensor) else max_norm
    scale = (limit / (norms + 1e-6)).clamp_(max=1.0)
    for g in grads:
        g.mul_(scale.view(K, *([1] * (g.dim() - 1))))
    return norms


def member_advantages(exp, hp: MemberValues, kernel, padded: bool = False) -> None:
    """Advantages and returns of experience ``exp`` by ``kernel`` (``sailfish.train.advantage.compute_advantages``):
    one call over every row when the members share gamma, lambda and the clips, else one per member
    on its block of rows (contiguous: rows are member-major). ``padded``: some steps are padding
    (``exp.masks`` False), which the kernel then treats as transparent."""
    keys = ("gamma", "gae_lambda", "rho_clip", "c_clip")
    K = 1 if all(not isinstance(hp[key], torch.Tensor) for key in keys) else hp.num_members
    per = exp.rows // K
    for k in range(K):
        rows = slice(k * per, (k + 1) * per)
        masks = dict(masks=exp.masks[rows], next_masks=exp.next_masks[rows]) if padded else {}
        kernel(exp.values[rows], exp.rewards[rows], exp.terminals[rows], exp.truncations[rows], exp.ratios[rows],
               exp.next_values[rows], exp.advantages[rows], *(hp.per_member(key)[k] for key in keys), **masks)
    torch.add(exp.advantages, exp.values, out=exp.returns)
