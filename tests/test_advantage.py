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


def transparent_reference(values, rewards, terminals, truncations, masks, next_masks, ratios, next_values, gamma,
                          lam, rho_clip, c_clip):
    """Padding made transparent by hand: each row cut down to its live steps, every live step's reward
    and episode end gathered from the padding after it (up to the first step that ends the episode), the
    row's last live step truncated when the row ends on padding; then ``reference`` on that row."""
    A, T = values.shape
    out = np.zeros((A, T))
    for a in range(A):
        live = np.flatnonzero(masks[a])
        if not len(live):
            continue
        r, term, trunc = rewards[a, live].astype(np.float64), terminals[a, live].copy(), truncations[a, live].copy()
        for n, t in enumerate(live):
            if term[n] or trunc[n]:
                continue
            stop = live[n + 1] if n + 1 < len(live) else T
            for k in range(t + 1, stop):
                r[n] += rewards[a, k]
                if terminals[a, k] or truncations[a, k]:
                    term[n], trunc[n] = terminals[a, k], truncations[a, k]
                    break
            else:
                if stop == T and not next_masks[a]:
                    trunc[n] = True
        out[a, live] = reference(values[a, live][None], r[None], term[None], trunc[None], ratios[a, live][None],
                                 next_values[a:a + 1], gamma, lam, rho_clip, c_clip)[0]
    return out


def run_masked(impl, batch, masks, next_masks, gamma=0.99, lam=0.95, rho_clip=1.0, c_clip=1.0):
    tensors = [torch.from_numpy(np.ascontiguousarray(x)) for x in batch]
    out = torch.zeros_like(tensors[0])
    impl(*tensors, out, gamma, lam, rho_clip, c_clip, masks=torch.from_numpy(masks),
         next_masks=torch.from_numpy(next_masks))
    return out.numpy()


@pytest.mark.parametrize("impl", list(IMPLS.values()), ids=list(IMPLS))
@pytest.mark.parametrize("ratio_one", [True, False], ids=["gae", "vtrace"])
def test_padding_steps_are_transparent(impl, ratio_one):
    # long stretches of padding, with episode ends on live and padding steps alike
    batch = make_batch(A=9, T=40, ratio_one=ratio_one, seed=3)
    rng = np.random.default_rng(4)
    masks = rng.random((9, 40)) < 0.5
    masks[0] = True  # an all-live row
    masks[1] = False  # an all-padding row
    next_masks = rng.random(9) < 0.5
    expected = transparent_reference(*batch[:4], masks, next_masks, *batch[4:], 0.97, 0.9, 1.0, 1.2)
    out = run_masked(impl, batch, masks, next_masks, 0.97, 0.9, 1.0, 1.2)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert not out[~masks].any()  # padding carries no decision: advantage 0
    # every step live: the unmasked recursion, to the bit
    np.testing.assert_array_equal(run_masked(impl, batch, np.ones((9, 40), bool), np.ones(9, bool), 0.97, 0.9, 1.0,
                                             1.2), run(impl, batch, 0.97, 0.9, 1.0, 1.2))


@pytest.mark.parametrize("impl", list(IMPLS.values()), ids=list(IMPLS))
def test_a_loss_on_the_opponents_move_is_the_previous_live_moves_reward(impl):
    # live move (v 0.3), the opponent's move ends the game (padding: -1, terminal), the next game's
    # live move (v 0.5), the opponent's move (padding, value 9: never trained), live (v 0.2)
    values = np.array([[0.3, 9.0, 0.5, 9.0, 0.2]], np.float32)
    rewards = np.array([[0.0, -1.0, 0.0, 0.0, 0.0]], np.float32)
    terminals = np.array([[False, True, False, False, False]])
    masks = np.array([[True, False, True, False, True]])
    batch = (values, rewards, terminals, np.zeros((1, 5), bool), np.ones((1, 5), np.float32),
             np.array([0.7], np.float32))
    out = run_masked(impl, batch, masks, np.array([True]), gamma=0.5, lam=0.5)
    a4 = 0.5 * 0.7 - 0.2
    a2 = 0.5 * 0.2 - 0.5 + 0.25 * a4  # bootstraps from the next live value, not the padding's 9
    np.testing.assert_allclose(out[0], [-1.0 - 0.3, 0.0, a2, 0.0, a4], rtol=1e-6)
    # the row ends on padding: its last live move bootstraps from its own value (truncated)
    out = run_masked(impl, batch, masks, np.array([False]), gamma=0.5, lam=0.5)
    np.testing.assert_allclose(out[0, 4], 0.5 * 0.2 - 0.2, rtol=1e-6)
    # a reward on padding after the episode ended, before any live step of the next: nobody's
    rewards[0, 1], rewards[0, 0], terminals[0, 0] = 5.0, 1.0, True
    out = run_masked(impl, batch, masks, np.array([True]), gamma=0.5, lam=0.5)
    np.testing.assert_allclose(out[0, 0], 1.0 - 0.3, rtol=1e-6)


def test_next_masks_without_masks_is_refused():
    batch = [torch.from_numpy(x) for x in make_batch(A=2, T=3)]
    with pytest.raises(ValueError, match="next_masks"):
        compute_advantages(*batch, torch.zeros(2, 3), 0.99, 0.95, next_masks=torch.ones(2, dtype=torch.bool))
