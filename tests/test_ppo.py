"""PPO loss pieces against values computed by hand."""
import math

import pytest
import torch

from sailfish.train import ppo


def t(*xs):
    return torch.tensor(xs, dtype=torch.float32)


def test_policy_loss_takes_pessimistic_clipped_term():
    adv, ratio = t(1.0, 1.0, -1.0, -1.0), t(1.5, 0.5, 1.5, 0.5)
    # per sample max(-A r, -A clip(r, 0.8, 1.2)): -1.2, -0.5, 1.5, 0.8  → mean 0.15
    assert ppo.policy_loss(adv, ratio, 0.2).item() == pytest.approx(0.15)


def test_policy_loss_applies_importance_weights():
    adv, ratio = t(2.0, -1.0), t(1.0, 1.0)
    assert ppo.policy_loss(adv, ratio, 0.2, weights=t(0.5, 2.0)).item() == pytest.approx((-1.0 + 2.0) / 2)


def test_value_loss_clips_value_change():
    new, old, ret = t(3.0, 0.0), t(1.0, 0.0), t(3.0, 1.0)
    # sample 0: unclipped (3-3)^2=0, clipped V=1.2 → (1.2-3)^2=3.24; sample 1: 1, 1 → mean of max = 2.12
    assert ppo.value_loss(new, old, ret, 0.2).item() == pytest.approx(0.5 * (3.24 + 1.0) / 2)
    assert ppo.value_loss(new, old, ret, 0.0).item() == pytest.approx(0.5 * (0.0 + 1.0) / 2)


def test_entropy_bonus_is_mean_entropy():
    assert ppo.entropy_bonus(t(math.log(2), math.log(4))).item() == pytest.approx(1.5 * math.log(2))


def test_approx_kl_is_k3_estimator():
    logratio = t(0.0, math.log(2.0))
    # (2 - 1) - log 2 for the second sample, 0 for the first
    assert ppo.approx_kl(logratio).item() == pytest.approx((1 - math.log(2)) / 2)


def test_clipfrac_counts_ratios_outside_clip_range():
    assert ppo.clipfrac(t(1.0, 1.1, 1.3, 0.7, 0.85), 0.2).item() == pytest.approx(2 / 5)


def test_explained_variance_perfect_constant_and_degenerate():
    ret = t(1.0, 2.0, 3.0)
    assert ppo.explained_variance(ret, ret).item() == pytest.approx(1.0)
    assert ppo.explained_variance(t(2.0, 2.0, 2.0), ret).item() == pytest.approx(0.0)
    assert ppo.explained_variance(t(0.0, 0.0, 0.0), ret).item() == pytest.approx(0.0 + 1 - 1.0)
    assert math.isnan(ppo.explained_variance(ret, t(1.0, 1.0, 1.0)).item())


def test_normalize_advantages_zero_mean_unit_std():
    out = ppo.normalize_advantages(t(1.0, 2.0, 3.0, 10.0))
    assert out.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert out.std().item() == pytest.approx(1.0, abs=1e-5)


def test_normalize_advantages_ignores_zero_weight_rows():
    # live rows 1, 3 (mean 2, population std 1); the padding row's 100 must not move either
    out = ppo.normalize_advantages(t(1.0, 100.0, 3.0), weights=t(1.5, 0.0, 1.5))
    assert out[0].item() == pytest.approx(-1.0, abs=1e-6)
    assert out[2].item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("vf_clip_coef", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_loss_matches_composed_pieces_in_value_and_gradient(vf_clip_coef, weighted, masked):
    g = torch.Generator().manual_seed(0)
    n = 64
    old_logprobs = torch.randn(n, generator=g) - 1
    old_values, returns = torch.randn(n, generator=g), torch.randn(n, generator=g)
    advantages = torch.randn(n, generator=g)
    weights = torch.rand(n, generator=g) + 0.5 if weighted else None
    live = None
    if masked:  # padding rows (weight 0), the rest weighted so the mean is over live rows
        mask = (torch.rand(n, generator=g) > 0.3).float()
        live = mask * (n / mask.sum())
    base_lp = old_logprobs + 0.4 * torch.randn(n, generator=g)  # ratios inside and outside the clip range
    base_v = old_values + 0.5 * torch.randn(n, generator=g)

    lp1, v1 = base_lp.clone().requires_grad_(), base_v.clone().requires_grad_()
    ratio = (lp1 - old_logprobs).exp()
    pg_weights = weights if live is None else (live if weights is None else weights * live)
    ref = ppo.policy_loss(advantages, ratio, 0.2, pg_weights) + 0.5 * ppo.value_loss(v1, old_values, returns,
                                                                                     vf_clip_coef, live)
    ref.backward()

    lp2, v2 = base_lp.clone().requires_grad_(), base_v.clone().requires_grad_()
    loss, pg, vl, fused_ratio = ppo.FusedPPOLoss.apply(lp2, v2, old_logprobs, advantages, old_values, returns,
                                                       0.2, vf_clip_coef, 0.5, weights, live)
    loss.backward()
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(fused_ratio, ratio.detach())
    torch.testing.assert_close(lp2.grad, lp1.grad)
    torch.testing.assert_close(v2.grad, v1.grad)
