"""The C rollout step (sailfish.train.fused_act) against the torch path it replaces."""
import numpy as np
import pytest
import torch
from conftest import KERNEL_RUN  # tests/ is on sys.path (pytest's default import mode)

from sailfish.train import Config, Trainer, make_env
from sailfish.train import fused_act
from sailfish.train.env import make_member_env

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.skipif(not fused_act.HAS_KERNEL, reason="needs the C core")]

SMALL = KERNEL_RUN  # shared with the other kernel tests


def trainer(members=1, env="cartpole", **shared):
    base = Config.load(env, {**SMALL, **shared})
    configs = [base.replace(seed=s) for s in range(members)]
    if members == 1:
        return Trainer(make_env(configs[0]), config=configs[0])
    return Trainer(make_member_env(configs), config=configs)


def torch_step(t, obs, generator, masks=None):
    with torch.inference_mode():
        params, value, _ = t.policy(obs, None)
        actions, logprob = t.dist.sample(params.float(), generator, masks)
    return actions, logprob, value


def spread_out(t, scale=3.0):
    """Weights away from the near-uniform initial policy, so the logits differ row to row (and a
    float-rounding tie between the two paths is as unlikely as it is in training)."""
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in t.policy.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale / max(1, p.shape[-1]) ** 0.5)


@pytest.mark.parametrize("members, env", [(1, "cartpole"), (3, "cartpole"), (1, "squared")],
                         ids=["solo", "population-of-3", "uint8-observations"])
def test_the_kernel_acts_as_the_policy_and_its_distribution_do(members, env):
    t = trainer(members, env, **({"encoder": "mlp"} if env == "squared" else {}))
    actor = t.collector.actor
    assert actor is not None and actor.begin(t.policy)
    spread_out(t)
    assert actor.begin(t.policy)  # the weights as they are now
    rows = t.rows
    space = t.env.single_observation_space
    space.seed(0)
    obs = torch.from_numpy(np.stack([space.sample() for _ in range(rows * 4)])).reshape(4, rows, *space.shape)
    for step in range(4):
        g_torch, g_kernel = torch.Generator().manual_seed(step), torch.Generator().manual_seed(step)
        ref_actions, ref_logprob, ref_value = torch_step(t, obs[step], g_torch)
        actions, logprob, value = actor(obs[step], g_kernel)
        assert torch.equal(actions, ref_actions)
        torch.testing.assert_close(logprob, ref_logprob, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(value, ref_value.float(), rtol=1e-5, atol=1e-5)
        assert torch.equal(g_kernel.get_state(), g_torch.get_state())  # the same draws were taken
        torch.testing.assert_close(actor.value(obs[step]), ref_value.float(), rtol=1e-5, atol=1e-5)
    assert torch.equal(g_kernel.get_state(), g_torch.get_state())  # value() takes no draws


def test_masked_actions_are_never_taken_and_log_probabilities_are_the_masked_distributions():
    t = trainer(1, "connect4")
    actor = t.collector.actor
    spread_out(t, 1.0)
    assert actor.begin(t.policy)
    gen = torch.Generator().manual_seed(3)
    rows, n = 256, t.dist.n
    obs = torch.rand(rows, *t.env.single_observation_space.shape, generator=gen)
    masks = torch.rand(rows, n, generator=gen) > 0.5
    masks[torch.arange(rows), torch.randint(n, (rows,), generator=gen)] = True  # a legal action in every row...
    masks[0] = False       # ...but one: with no legal action, uniform over all, as torch's masked_fill gives
    masks[1] = False
    masks[1, 4] = True     # one legal action: taken with log-probability 0
    ref_actions, ref_logprob, _ = torch_step(t, obs, torch.Generator().manual_seed(5), masks)
    actions, logprob, _ = actor(obs, torch.Generator().manual_seed(5), masks.numpy())
    assert torch.equal(actions, ref_actions)
    torch.testing.assert_close(logprob, ref_logprob, rtol=1e-5, atol=1e-5)
    legal = masks[torch.arange(rows), actions]
    assert bool(legal[2:].all()) and actions[1] == 4 and logprob[1] == 0.0
    torch.testing.assert_close(logprob[0], torch.tensor(-float(np.log(n))))


def test_a_member_acts_on_its_own_rows_only():
    t = trainer(3)
    actor = t.collector.actor
    spread_out(t)
    assert actor.begin(t.policy)
    obs = torch.randn(t.rows, 4, generator=torch.Generator().manual_seed(0))
    ref = actor(obs, torch.Generator().manual_seed(1))
    B = t.rows // 3
    obs[B:2 * B] = torch.randn(B, 4) * 5
    got = actor(obs, torch.Generator().manual_seed(1))
    for r, g in zip(ref, got):
        assert torch.equal(r[:B], g[:B]) and torch.equal(r[2 * B:], g[2 * B:])


def test_weights_are_taken_at_the_start_of_each_collection():
    t = trainer(1)
    t.start()
    t.collect()
    actor = t.collector.actor
    obs = torch.randn(t.rows, 4, generator=torch.Generator().manual_seed(0))
    before = actor.value(obs)
    with torch.no_grad():
        t.policy.head.bias.add_(1.0)
    torch.testing.assert_close(actor.value(obs), before)  # within a collection: the weights it took
    t.collect()
    torch.testing.assert_close(actor.value(obs), before + 1.0)


def collections(config_overrides, env="cartpole", times=2):
    """Each experience tensor after ``times`` collections of a trainer acting through the C actor,
    and of the same trainer (same seeds) acting through torch."""
    out = []
    for fused_act in (True, False):
        config = Config.load(env, {**SMALL, **config_overrides, "fused_act": fused_act})
        t = Trainer(make_env(config), config=config)
        assert (t.collector.actor is not None) == fused_act
        assert t.collector.is_async == ("env_batch_size" in config_overrides)
        t.start()
        batches = []
        for _ in range(times):
            t.collect()
            batches.append({k: v.clone() for k, v in t.experience.tensors().items()})
        t.env.close()
        out.append(batches)
    return out


@pytest.mark.parametrize("env, overrides", [
    ("cartpole", {}),
    ("connect4", {}),
    ("gym:CartPole-v1", {"env_batch_size": 4, "num_workers": 2, "backend": "multiprocessing"}),
], ids=["sync", "legal-action-masks", "async-batches"])
def test_a_collection_through_the_kernel_is_the_collection_through_torch(env, overrides):
    kernel, reference = collections(overrides, env)
    for got, want in zip(kernel, reference):
        for name in want:
            if got[name].dtype.is_floating_point and name not in ("obs", "rewards"):
                torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-5, msg=name)
            else:  # the same actions: the same env trajectories
                assert torch.equal(got[name], want[name]), name


@pytest.mark.parametrize("shared, why", [
    (dict(recurrent=True), "an LSTM"),
    (dict(obs_norm=True), "observation normalisation"),
])
def test_the_kernel_is_left_out_where_it_does_not_compute_the_same_thing(shared, why):
    t = trainer(1, **shared)
    assert not fused_act.FusedAct(t.dist).begin(t.policy), why  # the policy itself is refused
    assert t.collector._actor() is None, why


def test_the_kernel_is_left_out_where_it_is_switched_off_or_not_fp32_on_one_thread():
    assert trainer(1, fused_act=False).collector.actor is None
    assert trainer(1, torch_threads=2).collector.actor is None
    assert trainer(1, precision="bf16").collector.actor is None
    t = trainer(1, recurrent=True)  # a recurrent state: the collector never asks the actor
    assert t.collector.state is not None and t.collector._actor() is None
