"""Continuous actions: clipped for the env only, reward normalisation, defaults from the spaces, and
Pendulum and a MuJoCo task learning with no flags (budgets in steps; random returns measured here)."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import sailfish
from sailfish.train import Config, Trainer, make_env
from sailfish.train.config import CONTINUOUS_DEFAULTS, defaults_for_spaces
from sailfish.vector import GymnasiumVectorEnv
from sailfish.vector.normalize import NormalizeReward


class Recorder(gym.Wrapper):
    """Keeps every action the env was given."""

    seen: list = []

    def step(self, action):
        Recorder.seen.append(np.array(action))
        return super().step(action)


def test_env_gets_actions_clipped_to_its_box_and_experience_keeps_the_sampled_ones():
    Recorder.seen = []
    vec = gym.vector.SyncVectorEnv([lambda: Recorder(gym.make("Pendulum-v1"))] * 2)  # Box(-2, 2)
    env = GymnasiumVectorEnv(vec)
    config = Config(rollout_steps=16, minibatch_size=32, total_steps=32, runs_dir="")
    trainer = Trainer(env, config=config)
    with torch.no_grad():
        trainer.policy.log_std.fill_(2.0)  # std 7.4: most samples fall outside [-2, 2]
    trainer.collect()
    sampled = trainer.experience.actions.numpy()
    seen = np.stack(Recorder.seen).reshape(16, 2, 1).transpose(1, 0, 2)
    assert np.abs(sampled).max() > 2.0
    np.testing.assert_allclose(seen, np.clip(sampled, -2.0, 2.0), rtol=1e-6)
    env.close()


def test_reward_norm_scales_rewards_in_place_and_keeps_the_reported_returns():
    raw = sailfish.make("target", num_envs=16, seed=0, log_interval=0)
    scaled = NormalizeReward(sailfish.make("target", num_envs=16, seed=0, log_interval=0), gamma=0.99)
    for env in (raw, scaled):
        env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        actions = rng.uniform(-1, 1, raw.actions.shape).astype(np.float32)
        _, r_raw, *_ = raw.step(actions)
        _, r_scaled, *_ = scaled.step(actions)
        assert r_scaled is scaled.rewards
    factor = 1.0 / np.sqrt(scaled.var + scaled.eps)
    np.testing.assert_allclose(r_scaled, np.clip(r_raw * factor, -10, 10), rtol=1e-5)
    assert factor != pytest.approx(1.0, abs=0.05)
    assert scaled.episode_stats() == raw.episode_stats()  # the env's own, unscaled
    raw.close(), scaled.close()


def test_defaults_follow_the_action_space_and_yield_to_the_user_and_to_an_env_toml():
    box, discrete = gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2)
    assert defaults_for_spaces(box, box) == CONTINUOUS_DEFAULTS and defaults_for_spaces(box, discrete) == {}
    pendulum = Config.load("gym:Pendulum-v1")  # no TOML of its own, Box actions
    assert (pendulum.obs_norm, pendulum.reward_norm, pendulum.lr) == (True, True, CONTINUOUS_DEFAULTS["lr"])
    assert Config.load("gym:Pendulum-v1", {"lr": 0.01, "reward_norm": False}).lr == 0.01
    assert Config.load("gym:Pendulum-v1", {"reward_norm": False}).reward_norm is False
    acrobot = Config.load("gym:Acrobot-v1")  # discrete: today's defaults (here its own TOML)
    assert acrobot.reward_norm is False
    assert Config.load("gym:MountainCar-v0").lr == Config.load("").lr  # discrete, no TOML: default.toml
    target = Config.load("target")  # continuous but with its own TOML: the TOML's values only
    assert (target.reward_norm, target.obs_norm) == (False, False)
    assert isinstance(make_env(pendulum.replace(num_envs=2)), NormalizeReward)


def train(name, total_steps, seed=0):
    config = Config.load(name, {"total_steps": total_steps, "runs_dir": "", "seed": seed})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    return trainer


def test_pendulum_swings_up_with_no_flags():
    trainer = train("gym:Pendulum-v1", 120_000)  # ~17 s on one core
    # random play: mean -1256, std 296, best of 200 episodes -744 (seeds 0-199)
    assert trainer.episodes.mean("episode_return") >= -600


def test_inverted_pendulum_balances_with_no_flags():
    pytest.importorskip("mujoco")
    trainer = train("gym:InvertedPendulum-v5", 40_000)  # ~10 s on one core
    # random play: mean 5.1, best of 200 episodes 22 (seeds 0-199); 1000 is the cap
    assert trainer.episodes.mean("episode_return") >= 200
