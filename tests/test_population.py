"""Populations: K members trained in lockstep by one Trainer, each exactly an independent run."""
import pytest
import torch

from sailfish.train import Config, Trainer, make_env
from sailfish.train.checkpoint import checkpoint_paths, load_checkpoint
from sailfish.train.env import make_member_env

SMALL = dict(num_envs=8, rollout_steps=32, bptt_horizon=16, minibatch_size=128, update_epochs=2, runs_dir="",
             total_steps=20_000)


def members(*overrides, env="cartpole", **shared):
    base = Config.load(env, {**SMALL, **shared})
    return [base.replace(**o) for o in overrides]


def population(configs, **kwargs):
    return Trainer(make_member_env(configs), config=configs, **kwargs)


def member_params(trainer, k):
    if trainer.num_members == 1:
        return [p.detach().clone() for p in trainer.policy.parameters()]
    return [p[k].detach().clone() for p in trainer.policy.member_parameters()]


def test_a_members_update_depends_only_on_its_own_experience():
    configs = members(dict(seed=0), dict(seed=1), dict(seed=2))
    reference, perturbed = population(configs), population(configs)
    for trainer in (reference, perturbed):
        trainer.collect()
    rows = perturbed.rows // 3
    block = slice(rows, 2 * rows)  # member 1's rows
    exp = perturbed.experience
    exp.obs[block] = torch.randn_like(exp.obs[block]) * 3
    exp.rewards[block] = 7.0
    exp.values[block] = -2.0
    for trainer in (reference, perturbed):
        trainer.update()
    for k in (0, 2):
        for a, b in zip(member_params(reference, k), member_params(perturbed, k)):
            assert torch.equal(a, b)
    assert not all(torch.equal(a, b) for a, b in zip(member_params(reference, 1), member_params(perturbed, 1)))


def test_a_population_of_one_is_the_ordinary_trainer():
    (config,) = members(dict(seed=4))
    solo = Trainer(make_env(config), config=config)
    one = Trainer(make_env(config), config=[config])
    for trainer in (solo, one):
        trainer.iteration()
        trainer.iteration()
    for a, b in zip(member_params(solo, 0), member_params(one, 0)):
        assert torch.equal(a, b)


def test_each_member_of_a_native_population_normalises_its_rewards_by_its_own_returns():
    configs = members(dict(seed=0), dict(seed=1, gamma=0.9), reward_norm=True)
    pop = population(configs)
    norms = pop.reward_norms
    assert [norm.gamma for norm in norms] == [configs[0].gamma, 0.9]
    pop.collect()
    rows = pop.rows // 2
    raw = torch.ones(rows)  # cartpole pays 1 a step
    for k, norm in enumerate(norms):
        # the last step's rewards were scaled by member k's statistics as they stood then
        scale = min(10.0, 1.0 / (norm.var + norm.eps) ** 0.5)
        torch.testing.assert_close(pop.experience.rewards[k * rows:(k + 1) * rows, -1], raw * scale)
    assert norms[0].var != norms[1].var
    pop.env.close()


@pytest.mark.parametrize("k", [0, 2])
def test_a_member_follows_the_solo_run_of_its_own_config(k):
    # every scalar that may differ per member differs here
    configs = members(dict(seed=0), dict(seed=1, lr=1e-3, clip_coef=0.1, ent_coef=0.01, gamma=0.9),
                      dict(seed=5, lr=4e-3, vf_coef=1.0, vf_clip_coef=0.0, gae_lambda=0.5, max_grad_norm=0.05,
                           rho_clip=0.5, c_clip=0.7))
    pop = population(configs)
    solo = Trainer(make_env(configs[k]), config=configs[k])
    # same initial weights and env streams as the solo run of that seed
    for a, b in zip(member_params(pop, k), member_params(solo, 0)):
        assert torch.equal(a, b)
    pop.collect()
    solo.collect()
    rows = solo.rows
    assert torch.equal(pop.experience.obs[k * rows:(k + 1) * rows, 0], solo.experience.obs[:, 0])
    # given the same experience (actions are sampled from one population generator), the same update
    for name, tensor in solo.experience.tensors().items():
        getattr(pop.experience, name)[k * rows:(k + 1) * rows].copy_(tensor)
    pop.update()
    solo.update()
    for a, b in zip(member_params(pop, k), member_params(solo, 0)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert pop.metrics(k)["losses/policy_loss"] == pytest.approx(solo.metrics()["losses/policy_loss"], abs=1e-5)


def test_a_member_that_reached_its_target_stops_learning():
    pop = population(members(dict(seed=0), dict(seed=1)))
    pop.iteration()
    pop.solved_at[1] = 1.0
    before = member_params(pop, 1), member_params(pop, 0)
    pop.iteration()
    assert all(torch.equal(a, b) for a, b in zip(before[0], member_params(pop, 1)))
    assert not all(torch.equal(a, b) for a, b in zip(before[1], member_params(pop, 0)))


def test_members_must_share_the_structure_and_the_error_names_the_key():
    with pytest.raises(ValueError, match="hidden_size: population members must share it"):
        population(members(dict(seed=0), dict(seed=1, hidden_size=32)))


def test_sixteen_seeds_of_cartpole_all_reach_475():
    # cartpole's own config (sailfish/configs/cartpole.toml), its step budget, 16 seeds at once
    base = Config.load("cartpole", {"runs_dir": "", "target_return": 475})
    configs = [base.replace(seed=s) for s in range(16)]
    pop = population(configs)
    pop.run()
    returns = [w.mean("episode_return") for w in pop.member_episodes]
    assert all(s is not None for s in pop.solved_at), returns
    assert min(returns) >= 475


def test_each_member_is_an_ordinary_run_and_the_population_resumes(tmp_path):
    configs = members(dict(seed=0), dict(seed=1, lr=1e-3), runs_dir=str(tmp_path), total_steps=2048,
                      checkpoint_interval=2)
    pop = population(configs)
    pop.run()
    (run_dir,) = tmp_path.iterdir()
    for k in range(2):
        member_dir = run_dir / f"member{k}"
        assert (member_dir / "config.toml").is_file() and (member_dir / "metrics.csv").is_file()
        saved = load_checkpoint(checkpoint_paths(member_dir)[-1])
        assert saved["config"]["seed"] == k and saved["update"] == pop.update_count
        # the member's checkpoint is an ordinary run's: a solo trainer resumes it
        solo = Trainer(make_env(configs[k]), config=Config.load(path=member_dir / "config.toml"), resume=member_dir)
        solo.start()
        for a, b in zip(member_params(solo, 0), member_params(pop, k)):
            assert torch.equal(a, b)
        solo.close()
    more = [c.replace(total_steps=4096) for c in configs]
    resumed = population(more, resume=run_dir)
    resumed.start()
    assert resumed.update_count == pop.update_count
    for k in range(2):
        for a, b in zip(member_params(resumed, k), member_params(pop, k)):
            assert torch.equal(a, b)
    resumed.run()
    assert resumed.global_step >= 4096


def test_a_connect4_population_acts_and_updates_under_each_members_legal_move_masks():
    configs = members(dict(seed=0), dict(seed=1), env="connect4", num_envs=16, minibatch_size=256,
                      torch_threads=1)
    trainer = population(configs)
    for _ in range(3):
        trainer.iteration()
    exp = trainer.experience
    assert exp.action_masks is not None and exp.action_masks.shape == (32, 32, 7)
    chosen = exp.action_masks.gather(-1, exp.actions.long().unsqueeze(-1)).squeeze(-1)
    assert bool(chosen.all()) and bool((~exp.action_masks).any())  # full columns came up, never played
    assert all(torch.isfinite(p).all() for p in trainer.policy.parameters())
    trainer.env.close()


@pytest.mark.parametrize("rows, widths", [(16, [4, 64, 64, 3]), (1024, [4, 64, 64, 3]), (300, [7, 32, 5])])
def test_the_fused_population_mlp_gives_autograds_values_and_gradients(rows, widths):
    # batched_mlp's hand-written backward (and the C tanh) against torch's autograd over torch.tanh,
    # on small and large batches and another depth.
    from sailfish.policies.fused_mlp import batched_mlp

    g = torch.Generator().manual_seed(0)
    K = 3
    x = torch.randn(K, rows, widths[0], generator=g, requires_grad=True)
    weights = [(torch.randn(K, o, i, generator=g) / i ** 0.5).requires_grad_() for i, o in zip(widths, widths[1:])]
    biases = [torch.randn(K, o, generator=g).requires_grad_() for o in widths[1:]]
    upstream = torch.randn(K, rows, widths[-1], generator=g)

    h = x
    for w, b in zip(weights[:-1], biases[:-1]):
        h = torch.tanh(torch.baddbmm(b.unsqueeze(1), h, w.mT))
    expected = torch.baddbmm(biases[-1].unsqueeze(1), h, weights[-1].mT)
    expected_grads = torch.autograd.grad(expected, [x, *weights, *biases], upstream)

    out = batched_mlp(x, weights, biases)
    grads = torch.autograd.grad(out, [x, *weights, *biases], upstream)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
