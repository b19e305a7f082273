"""Advantage kernel (C) and torch fallback against a plain NumPy reference."""
import numpy as np
import pytest
import torch

from sailfish.train.advantage import compute_advantages, compute_advantages_torch, native_kernel_available


def reference(values, rewards, terminals, truncations, ratios, next_values, gamma, lam, rho_clip, c_clip):
    A, T = values.shape
    out = np.zeros((A, T), dtype=np.float64)
    for a in range(A):
        next_v, adv = float(next_values[a]), 0.0
        for t in reversed(range(T)):
            if terminals[a, t]:
                v_next, cont = 0.0, 0.0
            elif truncations[a, t]:
                v_next, cont = float(values[a, t]), 0.0
            else:
                v_next, cont = next_v, 1.0
            rho = min(ratios[a, t], rho_clip)
            c = min(ratios[a, t], c_clip)
            delta = rho * (rewards[a, t] + gamma * v_next - values[a, t])
            adv = delta + gamma * lam * c * cont * adv
            out[a, t] = adv
            next_v = values[a, t]
    return out


def plain_gae(values, rewards, dones, next_values, gamma, lam):
    """Textbook GAE (terminations only), independent of the reference's structure."""
    A, T = values.shape
    out = np.zeros((A, T))
    lastgaelam = np.zeros(A)
    for t in reversed(range(T)):
        nv = next_values if t == T - 1 else values[:, t + 1]
        nonterminal = 1.0 - dones[:, t]
        delta = rewards[:, t] + gamma * nv * nonterminal - values[:, t]
        lastgaelam = delta + gamma * lam * nonterminal * lastgaelam
        out[:, t] = lastgaelam
    return out


def make_batch(A=7, T=33, ratio_one=True, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(A, T)).astype(np.float32)
    rewards = rng.normal(size=(A, T)).astype(np.float32)
    terminals = rng.random((A, T)) < 0.1
    truncations = (rng.random((A, T)) < 0.1) & ~terminals
    ratios = np.ones((A, T), np.float32) if ratio_one else rng.uniform(0.3, 2.0, (A, T)).astype(np.float32)
    next_values = rng.normal(size=A).astype(np.float32)
    return values, rewards, terminals, truncations, ratios, next_values


IMPLS = {
    "torch": compute_advantages_torch,
    "native": pytest.param(compute_advantages, marks=pytest.mark.skipif(
        not native_kernel_available(), reason="sailfish._native.compute_advantages not built")),
}


def run(impl, batch, gamma=0.99, lam=0.95, rho_clip=1.0, c_clip=1.0):
    tensors = [torch.from_numpy(np.ascontiguousarray(x)) for x in batch]
    out = torch.zeros_like(tensors[0])
    impl(*tensors, out, gamma, lam, rho_clip, c_clip)
    return out.numpy()


@pytest.mark.parametrize("impl", list(IMPLS.values()), ids=list(IMPLS))
def test_ratio_one_equals_plain_gae_with_terminals(impl):
    values, rewards, terminals, truncations, ratios, next_values = make_batch()
    truncations[:] = False
    batch = (values, rewards, terminals, truncations, ratios, next_values)
    expected = plain_gae(values, rewards, terminals.astype(np.float64), next_values, 0.99, 0.95)
    np.testing.assert_allclose(run(impl, batch), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reference(*batch, 0.99, 0.95, 1.0, 1.0), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("impl", list(IMPLS.values()), ids=list(IMPLS))
def test_terminals_and_truncations_match_reference(impl):
    batch = make_batch(seed=1)
    np.testing.assert_allclose(run(impl, batch), reference(*batch, 0.99, 0.95, 1.0, 1.0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", list(IMPLS.values()), ids=list(IMPLS))
def test_truncation_bootstraps_from_last_state_value(impl):
    # one agent, 2 steps, truncated at step 0: adv[0] = r0 + gamma * v0 - v0 (no trace from step 1)
    values = np.array([[2.0, 5.0]], np.float32)
    rewards = np.array([[1.0, 0.0]], np.float32)
    terminals = np.zeros((1, 2), bool)
    truncations = np.array([[True, False]])
    batch = (values, rewards, terminals, truncations, np.ones((1, 2), np.float32), np.array([3.0], np.float32))
    out = run(impl, batch, gamma=0.5, lam=1.0)
    np.testing.assert_allclose(out[0, 0], 1.0 + 0.5 * 2.0 - 2.0)
    np.testing.assert_allclose(out[0, 1], 0.0 + 0.5 * 3.0 - 5.0)
    terminals[0, 0], truncations[0, 0] = True, False  # terminated instead: no bootstrap at all
    out = run(impl, (values, rewards, terminals, truncations, batch[4], batch[5]), gamma=0.5, lam=1.0)
    np.testing.assert_allclose(out[0, 0], 1.0 - 2.0)


@pytest.mark.parametrize("impl", list(IMPLS.values()), ids=list(IMPLS))
@pytest.mark.parametrize("rho_clip,c_clip", [(1.0, 1.0), (2.0, 0.5), (0.8, 1.5)])
def test_clipped_ratios_match_reference(impl, rho_clip, c_clip):
    batch = make_batch(ratio_one=False, seed=2)
    expected = reference(*batch, 0.97, 0.9, rho_clip, c_clip)
    np.testing.assert_allclose(run(impl, batch, 0.97, 0.9, rho_clip, c_clip), expected, rtol=1e-5, atol=1e-5)
