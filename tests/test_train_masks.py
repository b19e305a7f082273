"""Padding rows (mask 0: a dead agent waiting to respawn) are left out of the PPO update."""
import pytest
import torch

import sailfish
from sailfish.train import Config, Trainer
from sailfish.train.advantage import compute_advantages

# Agents starve within a few ticks and wait 8 steps to respawn: many padding rows per rollout.
DEADLY = dict(map_size=32, agents=8, npcs=0, window=3, food_drain=40, water_drain=40, starve_damage=60)


def rollout(**overrides):
    overrides = {"update_epochs": 2, **overrides}
    config = Config(env="mmo", env_config=DEADLY, num_envs=2, rollout_steps=32, bptt_horizon=8, minibatch_size=128,
                    runs_dir="", seed=3, **overrides)
    env = sailfish.make("mmo", num_envs=2, seed=3, **DEADLY)
    trainer = Trainer(env, config=config)
    trainer.collect()
    return trainer


def learned_params(trainer):
    trainer.update()
    return torch.cat([p.detach().flatten() for p in trainer.policy.parameters()])


def test_rollouts_record_the_mask_of_each_observation():
    trainer = rollout()
    masks = trainer.experience.masks.numpy()
    assert 0.1 < 1 - masks.mean() < 0.9  # the scene has both live and padding rows
    dead_obs = trainer.experience.obs.numpy()[~masks]
    assert not dead_obs.any()  # a padding row's observation is all zeros, as the env documents
    assert trainer.experience.obs.numpy()[masks][:, -13].all()  # and a live row's alive stat is 1


def test_a_dead_agents_padding_leaves_its_live_advantages_as_without_masks():
    # GAE makes padding transparent (for an opponent's turn); a dead agent's padding follows the
    # terminal step it died on, so its live advantages are those of the plain recursion, bit for bit
    trainer = rollout(update_epochs=1)
    exp, cfg = trainer.experience, trainer.config
    live, terminals = exp.masks, exp.terminals
    died = live[:, :-1] & ~live[:, 1:]
    assert died.sum() >= 10 and terminals[:, :-1][died].all()
    assert not exp.next_masks.all()  # some rows end dead: the bootstrap of a padding observation
    trainer.update()
    plain = torch.zeros_like(exp.advantages)
    on_policy = torch.ones_like(exp.ratios)  # epoch 0's ratios (the update has since written its own)
    compute_advantages(exp.values, exp.rewards, terminals, exp.truncations, on_policy, exp.next_values, plain,
                       cfg.gamma, cfg.gae_lambda)
    assert torch.equal(exp.advantages[live], plain[live])
    assert not exp.advantages[~live].any()


SETTINGS = [dict(ent_coef=0.0), dict(ent_coef=0.01), dict(prio_alpha=0.6)]


def metrics(trainer):
    last = trainer.last_update
    return {k: float(getattr(last, k)[0]) for k in ("approx_kl", "clipfrac", "explained_variance")}


@pytest.mark.parametrize("settings", SETTINGS, ids=["no-entropy", "entropy", "prioritized"])
def test_padding_rows_do_not_change_the_update(settings):
    ref_trainer = rollout(**settings)
    reference = learned_params(ref_trainer)
    perturbed = rollout(**settings)
    masks = perturbed.experience.masks
    gen = torch.Generator().manual_seed(0)
    # Whatever a padding row holds (observation, sampled action, reward, value estimate, a ratio
    # that overflows), the update and the logged metrics are the same.
    noise_obs = torch.randint(0, 255, perturbed.experience.obs.shape, generator=gen, dtype=torch.uint8)
    perturbed.experience.obs[~masks] = noise_obs[~masks]
    perturbed.experience.actions[~masks] = 0
    perturbed.experience.rewards[~masks] = 5.0
    perturbed.experience.values[~masks] = -3.0
    perturbed.experience.logprobs[~masks] = -1e30  # exp(new - old) = inf on those rows
    torch.testing.assert_close(learned_params(perturbed), reference)
    assert metrics(perturbed) == pytest.approx(metrics(ref_trainer), nan_ok=True)

    # and the same change to live rows does change it (the check above can fail)
    control = rollout(**settings)
    control.experience.obs[masks] = noise_obs[masks]
    assert not torch.allclose(learned_params(control), reference)
