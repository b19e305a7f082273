"""PPO loss pieces as small pure functions, named and written the way the PPO paper and CleanRL write them.

All take per-sample tensors of the same shape (any shape) and return scalars (0-d tensors), so the
update stays free of host syncs until metrics are read once per log.
"""
from __future__ import annotations

import torch


def weighted(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``x * weights``, 0 where the weight is 0 even if ``x`` is inf or NaN there (a padding row's
    ratio or value is never trained, so nothing bounds it)."""
    return torch.where(weights > 0, x * weights, 0.0)


def normalize_advantages(advantages: torch.Tensor, eps: float = 1e-8,
                         weights: torch.Tensor | None = None) -> torch.Tensor:
    """Zero mean, unit standard deviation (per minibatch).

    ``weights`` (>= 0, mean 1: live-sample weights) make the mean and std those of the weighted
    samples, so padding rows of weight 0 do not shift them.
    """
    if weights is None:
        return (advantages - advantages.mean()) / (advantages.std() + eps)
    mean = weighted(advantages, weights).mean()
    std = weighted((advantages - mean).square(), weights).mean().sqrt()
    return (advantages - mean) / (std + eps)


def policy_loss(advantages: torch.Tensor, ratio: torch.Tensor, clip_coef: float,
                weights: torch.Tensor | None = None) -> torch.Tensor:
    """Clipped surrogate objective, negated: mean(max(-A * r, -A * clip(r, 1 - eps, 1 + eps))).

    ``weights`` (importance weights of prioritized sampling) scale each sample's term.
    """
    pg_loss1 = -advantages * ratio
    pg_loss2 = -advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
    loss = torch.max(pg_loss1, pg_loss2)
    if weights is not None:
        loss = loss * weights
    return loss.mean()


def value_loss(new_values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
               vf_clip_coef: float, weights: torch.Tensor | None = None) -> torch.Tensor:
    """0.5 * mean(max((V - R)^2, (V_clipped - R)^2)), V_clipped = V_old + clip(V - V_old, ±vf_clip_coef).

    ``vf_clip_coef <= 0`` gives the unclipped 0.5 * mean((V - R)^2); ``weights`` scale each sample's term.
    """
    loss = (new_values - returns).square()
    if vf_clip_coef > 0:
        v_clipped = old_values + torch.clamp(new_values - old_values, -vf_clip_coef, vf_clip_coef)
        loss = torch.max(loss, (v_clipped - returns).square())
    if weights is not None:
        loss = loss * weights
    return 0.5 * loss.mean()


def entropy_bonus(entropy: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the action distributions (subtracted from the loss times ``ent_coef``)."""
    return entropy.mean()


def approx_kl(logratio: torch.Tensor) -> torch.Tensor:
    """KL(old || new) estimated as mean((r - 1) - log r): unbiased, always >= 0 (Schulman's k3)."""
    return ((logratio.exp() - 1) - logratio).mean()


def clipfrac(ratio: torch.Tensor, clip_coef: float) -> torch.Tensor:
    """Fraction of samples whose ratio lies outside [1 - clip_coef, 1 + clip_coef]."""
    return ((ratio - 1.0).abs() > clip_coef).float().mean()


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """1 - Var(R - V) / Var(R): 1 = perfect value function, 0 = no better than a constant; NaN if Var(R) = 0."""
    var_returns = returns.var()
    return torch.where(var_returns == 0, torch.full_like(var_returns, float("nan")),
                       1 - (returns - values).var() / var_returns)


class FusedPPOLoss(torch.autograd.Function):
    """``policy_loss + vf_coef * value_loss`` with a hand-written gradient, for speed.

    The same value and gradients as composing the functions above, but autograd records one node
    instead of ~25: on CPU with a small policy the per-node cost of the loss's backward otherwise
    rivals the network's own. Tested against the composed pieces (``tests/test_ppo.py``).

    ``apply(new_logprobs, new_values, old_logprobs, advantages, old_values, returns, clip_coef,
    vf_clip_coef, vf_coef, weights, live, members)`` returns ``(loss, policy_loss, value_loss, ratio)``;
    only ``loss`` is differentiable. ``weights`` (prioritized sampling's importance weights) scale the
    policy terms; ``live`` (mean-1 weights, 0 on padding rows) scale both the policy and the value
    terms. With ``members = K > 1`` (a population, inputs ``[K, ...]``) ``loss`` is the sum of the
    members' own mean losses, ``policy_loss`` / ``value_loss`` are ``[K]``, and the coefficients may
    be ``[K, 1, 1]`` tensors.
    """

    @staticmethod
    def forward(ctx, new_logprobs, new_values, old_logprobs, advantages, old_values, returns,
                clip_coef, vf_clip_coef, vf_coef, weights=None, live=None, members: int = 1):
        # With members > 1 the inputs are [K, ...] and each member's loss is the mean over its own
        # samples; coefficients may then be [K, 1, 1] tensors (one value per member).
        n = new_logprobs.numel() // members
        ratio = (new_logprobs - old_logprobs).exp()
        surr1 = advantages * ratio
        surr2 = advantages * ratio.clamp(1 - clip_coef, 1 + clip_coef)
        pg_terms = torch.minimum(surr1, surr2)
        # d/dlogp of -min(surr1, surr2): -A * r where the unclipped surrogate is the smaller (or equal)
        grad_logp = torch.where(surr1 <= surr2, surr1, 0.0).mul_(-1.0 / n)
        if weights is not None:
            pg_terms = pg_terms * weights
            grad_logp = grad_logp * weights
        if live is not None:
            pg_terms = weighted(pg_terms, live)
            grad_logp = weighted(grad_logp, live)

        diff = new_values - returns
        if isinstance(vf_clip_coef, torch.Tensor):  # per member: <= 0 means no clipping for that member
            vf_clip_coef = torch.where(vf_clip_coef > 0, vf_clip_coef, torch.inf)
        if isinstance(vf_clip_coef, torch.Tensor) or vf_clip_coef > 0:
            delta = new_values - old_values
            diff_clipped = old_values + delta.clamp(-vf_clip_coef, vf_clip_coef) - returns
            sq, sq_clipped = diff.square(), diff_clipped.square()
            v_terms = torch.maximum(sq, sq_clipped)
            # the clipped branch passes a gradient only while the change is inside the clip range
            passes = (sq >= sq_clipped) | (delta.abs() <= vf_clip_coef)
            grad_v = torch.where(passes, diff, 0.0).mul_(vf_coef / n)
        else:
            v_terms = diff.square()
            grad_v = diff * (vf_coef / n)
        if live is not None:
            v_terms = weighted(v_terms, live)
            grad_v = weighted(grad_v, live)
        if members == 1:
            pg_loss, v_loss = -pg_terms.mean(), 0.5 * v_terms.mean()
            loss = pg_loss + vf_coef * v_loss
        else:
            pg_loss = -pg_terms.reshape(members, -1).mean(1)
            v_loss = 0.5 * v_terms.reshape(members, -1).mean(1)
            coef = vf_coef.reshape(members) if isinstance(vf_coef, torch.Tensor) else vf_coef
            loss = (pg_loss + coef * v_loss).sum()
        ctx.save_for_backward(grad_logp, grad_v)
        ctx.mark_non_differentiable(pg_loss, v_loss, ratio)
        return loss, pg_loss, v_loss, ratio

    @staticmethod
    def backward(ctx, grad_loss, *unused):
        grad_logp, grad_v = ctx.saved_tensors
        return grad_loss * grad_logp, grad_loss * grad_v, None, None, None, None, None, None, None, None, None, None
