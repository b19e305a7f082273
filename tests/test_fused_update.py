"""The C minibatch gradient (sailfish.train.fused_update) against the autograd path it replaces."""
import pytest
import torch
from conftest import KERNEL_RUN  # tests/ is on sys.path (pytest's default import mode)

from sailfish.train import Config, Trainer, make_env
from sailfish.train import fused_update
from sailfish.train.env import make_member_env
from sailfish.train.metrics import UpdateStats

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.skipif(not fused_update.HAS_KERNEL, reason="needs the C core")]

SMALL = KERNEL_RUN  # shared with the other kernel tests


def trainer(overrides, env="cartpole", **shared):
    base = Config.load(env, {**SMALL, **shared})
    configs = [base.replace(**o) for o in overrides]
    if len(configs) == 1:
        return Trainer(make_env(configs[0]), config=configs[0])
    return Trainer(make_member_env(configs), config=configs)


def both_ways(t, mb):
    """(gradients, [K, 3] loss terms, ratios) of minibatch mb: the autograd path, then the C kernel."""
    out = []
    for fused in (False, True):
        t.optimizer.zero_grad(set_to_none=True)
        if fused:
            policy_loss, value_loss, entropy, ratio = t.fused.gradients(mb)
            terms = torch.stack([policy_loss, value_loss, entropy], -1).reshape(t.num_members, 3)
        else:
            stats = UpdateStats(t.num_members)
            t.loss(mb, stats).backward()
            terms = stats.terms[0]
            ratio = t.experience.member_segments(t.experience.ratios)[
                torch.arange(t.num_members)[:, None], mb.index].clone()
        out.append(([p.grad.clone() for p in t.params], terms, ratio))
    return out


def first_minibatch(t, update_steps=0, behaviour_noise=0.0):
    """A minibatch after ``update_steps`` ordinary updates; ``behaviour_noise`` moves its stored
    log-probabilities and values, as an older behaviour policy's would be (ratios away from 1 and
    value changes beyond vf_clip_coef exercise the clipped branches)."""
    for _ in range(update_steps):
        t.collect()
        t.update()
    t.collect()
    t.compute_advantages()
    mb = next(iter(t.experience.minibatches(t.config.minibatch_size, t.shuffle_rngs, None, 0.0, 1.0)))
    gen = torch.Generator().manual_seed(0)
    mb.logprobs.add_(torch.randn(mb.logprobs.shape, generator=gen) * behaviour_noise)
    mb.values.add_(torch.randn(mb.values.shape, generator=gen) * behaviour_noise * 10)
    return mb


@pytest.mark.parametrize("overrides", [
    [dict(seed=0)],
    [dict(seed=0, norm_adv=False, vf_clip_coef=0.0, ent_coef=0.05)],
    [dict(seed=0, clip_coef=0.1, ent_coef=0.0), dict(seed=1, clip_coef=0.3, vf_clip_coef=0.0),
     dict(seed=2, vf_coef=2.0, ent_coef=0.02, lr=1e-2)],
], ids=["solo", "solo-unclipped-value", "population-of-3"])
def test_the_kernel_gives_autograds_gradients_and_loss_terms(overrides):
    t = trainer(overrides, update_epochs=2)
    assert t.fused is not None
    mb = first_minibatch(t, update_steps=2, behaviour_noise=0.3)
    (ref_grads, ref_terms, ref_ratio), (grads, terms, ratio) = both_ways(t, mb)
    assert ((ratio - 1).abs() > 0.3).float().mean() > 0.1  # the clipped branches are exercised
    torch.testing.assert_close(ratio, ref_ratio, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(terms, ref_terms, rtol=1e-4, atol=1e-5)
    for g, ref in zip(grads, ref_grads):
        torch.testing.assert_close(g, ref, rtol=1e-4, atol=1e-5 * max(1.0, ref.abs().max().item()))


def test_a_members_kernel_gradient_depends_only_on_its_own_rows():
    t = trainer([dict(seed=0), dict(seed=1), dict(seed=2)])
    mb = first_minibatch(t)
    t.fused.gradients(mb)
    ref = [p.grad.clone() for p in t.params]
    mb.obs[1] = torch.randn_like(mb.obs[1]) * 3
    mb.advantages[1] = 5.0
    t.fused.gradients(mb)
    for g, r in zip(t.params, ref):
        assert torch.equal(g.grad[0], r[0]) and torch.equal(g.grad[2], r[2])
    assert not all(torch.equal(g.grad[1], r[1]) for g, r in zip(t.params, ref))


def test_integer_observations_are_scaled_as_the_policy_scales_them():
    # squared's grid is uint8 with a declared maximum: the MLP divides by it before the first layer
    t = trainer([dict(seed=0)], env="squared", encoder="mlp")
    assert t.fused is not None and t.fused.scale != 1.0
    mb = first_minibatch(t, behaviour_noise=0.1)
    (ref_grads, ref_terms, _), (grads, terms, _) = both_ways(t, mb)
    torch.testing.assert_close(terms, ref_terms, rtol=1e-4, atol=1e-5)
    for g, ref in zip(grads, ref_grads):
        torch.testing.assert_close(g, ref, rtol=1e-4, atol=1e-5 * max(1.0, ref.abs().max().item()))


@pytest.mark.parametrize("shared, why", [
    (dict(torch_threads=2), "more than one torch thread"),
    (dict(precision="bf16"), "bf16 matmuls"),
    (dict(recurrent=True), "an LSTM"),
    (dict(obs_norm=True), "observation normalisation"),
    (dict(fused_update=False), "switched off"),
])
def test_the_kernel_is_left_out_where_it_does_not_compute_the_same_thing(shared, why):
    assert trainer([dict(seed=0)], **shared).fused is None, why


def test_a_minibatch_with_priorities_or_other_masks_takes_the_autograd_path():
    t = trainer([dict(seed=0)])
    mb = first_minibatch(t)
    assert t.fused.takes(mb)
    for field, value in (("live", torch.ones_like(mb.logprobs)),
                         ("action_masks", torch.ones(*mb.logprobs.shape, 2, dtype=torch.bool))):
        assert t.fused.takes(type(mb)(**{**vars(mb), field: value}))
    for field, value in (("weights", torch.ones(1, 1, 1)),
                         ("action_masks", torch.ones(*mb.logprobs.shape, 3, dtype=torch.bool))):
        assert not t.fused.takes(type(mb)(**{**vars(mb), field: value}))


@pytest.mark.parametrize("members", [1, 2])
def test_padding_rows_weigh_nothing_whatever_their_values(members):
    # live weights as Experience.minibatch makes them: 0 on padding rows, mean 1 over each member's rows
    t = trainer([dict(seed=s) for s in range(members)])
    mb = first_minibatch(t, update_steps=1, behaviour_noise=0.3)
    gen = torch.Generator().manual_seed(1)
    alive = (torch.rand(mb.logprobs.shape, generator=gen) > 0.3).float()
    mb.live = alive * (alive[0].numel() / alive.reshape(members, -1).sum(1)).view(-1, 1, 1)
    for field in (mb.advantages, mb.returns, mb.values, mb.logprobs):
        field[alive == 0] = float("nan")  # nothing bounds a padding row's values
    (ref_grads, ref_terms, _), (grads, terms, _) = both_ways(t, mb)
    assert torch.isfinite(terms).all()
    torch.testing.assert_close(terms, ref_terms, rtol=1e-4, atol=1e-5)
    for g, ref in zip(grads, ref_grads):
        torch.testing.assert_close(g, ref, rtol=1e-4, atol=1e-5 * max(1.0, ref.abs().max().item()))


def test_legal_action_masks_give_the_masked_distributions_gradients():
    # connect4's full columns are illegal moves: the update uses the distribution they were sampled from
    t = trainer([dict(seed=0)], env="connect4", hidden_size=32)
    assert t.fused is not None
    mb = first_minibatch(t, update_steps=1, behaviour_noise=0.3)
    assert mb.action_masks is not None and t.fused.takes(mb)
    mb.action_masks[..., 3] = False  # more illegal moves than a short game makes, some of them taken
    (ref_grads, ref_terms, ref_ratio), (grads, terms, ratio) = both_ways(t, mb)
    torch.testing.assert_close(ratio, ref_ratio, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(terms, ref_terms, rtol=1e-4, atol=1e-5)
    for g, ref in zip(grads, ref_grads):
        torch.testing.assert_close(g, ref, rtol=1e-4, atol=1e-5 * max(1.0, ref.abs().max().item()))


def test_training_through_the_kernel_solves_cartpole():
    config = Config.load("cartpole", dict(runs_dir="", precision="fp32", torch_threads=1, seed=0,
                                          total_steps=150_000, target_return=475.0))
    t = Trainer(make_env(config), config=config)
    assert t.fused is not None
    t.run()
    assert t.solved_at[0] is not None, t.metrics()
