"""Training runs reach scores random play cannot (budgets in steps, not seconds): native envs, a
Gymnasium env through emulation, and a PettingZoo env through its import path."""
import functools

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv  # in the [test] extra

import sailfish
from sailfish.train import Config, Trainer


def train(env_name, **overrides):
    config = Config.load(env_name, {"runs_dir": "", **overrides})
    env = sailfish.make(env_name, num_envs=config.num_envs, seed=config.seed, log_interval=0)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    return trainer


def test_cartpole_reaches_mean_return_475_within_150k_steps():
    trainer = train("cartpole", total_steps=150_000, target_return=475, seed=1)
    assert trainer.episodes.mean("episode_return") >= 475  # random play: ~22
    assert trainer.global_step <= 150_000 + trainer.batch_size


def test_bandit_learns_to_pull_the_optimal_arm():
    trainer = train("bandit", total_steps=40_960, seed=0)
    assert trainer.episodes.mean("score") >= 0.9  # random play: 0.25


def test_memory_is_solved_by_the_lstm_policy_and_not_by_the_mlp():
    lstm = train("memory", total_steps=60_000, target_return=0.9, recurrent=True)
    assert lstm.episodes.mean("score") >= 0.9  # guessing the bit: 0.5
    mlp = train("memory", total_steps=60_000, recurrent=False)
    assert mlp.episodes.mean("score") < 0.7


def test_gymnasium_cartpole_through_emulation_reaches_475():
    """CartPole-v1 from Gymnasium itself, stepped in Python through sailfish.emulation."""
    from sailfish.train import Config, Trainer, make_env

    config = Config.load("gym:CartPole-v1", {"total_steps": 150_000, "target_return": 475.0, "runs_dir": ""})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    assert trainer.episodes.mean("episode_return") >= 475.0


class Cue(ParallelEnv):
    """Three agents each see a cue, one-hot of 0 or 1, and earn 1 for answering it, 0 otherwise.
    a0 and a1 are truncated after 8 steps; a2 terminates after 4, so its row is padding (mask False)
    for the rest of the episode. Score: the fraction answered right (random play: 0.5)."""

    metadata = {"name": "cue"}
    LENGTH = 8

    def __init__(self):
        self.possible_agents = ["a0", "a1", "a2"]
        self.agents = []
        self.rng = np.random.default_rng(0)

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent):
        return gym.spaces.Box(0, 1, (2,), np.float32)

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent):
        return gym.spaces.Discrete(2)

    def _obs(self):
        self.cues = {a: int(self.rng.integers(2)) for a in self.agents}
        return {a: np.eye(2, dtype=np.float32)[c] for a, c in self.cues.items()}

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t, self.agents = 0, list(self.possible_agents)
        self.right = dict.fromkeys(self.agents, 0.0)
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        live = list(self.agents)
        rewards = {a: float(actions[a] == self.cues[a]) for a in live}
        terms = {a: a == "a2" and self.t == self.LENGTH // 2 for a in live}
        truncs = {a: self.t == self.LENGTH and not terms[a] for a in live}
        infos = {}
        for a in live:
            self.right[a] += rewards[a]
            infos[a] = {"score": self.right[a] / self.t} if terms[a] or truncs[a] else {}
        self.agents = [a for a in live if not (terms[a] or truncs[a])]
        obs = self._obs()
        obs.update({a: np.zeros(2, np.float32) for a in live if a not in self.agents})
        return obs, rewards, terms, truncs, infos


def test_a_pettingzoo_env_learns_through_its_import_path():
    """A ``module:factory`` name reaches the trainer (pytest puts tests/ on sys.path), the 3-agent
    ParallelEnv is padded to fixed rows, and PPO learns to answer the cue, which random play cannot."""
    from pettingzoo.test import parallel_api_test

    from sailfish.train import make_env
    from sailfish.train.evaluate import mean_episode_stat

    parallel_api_test(Cue(), num_cycles=50)
    config = Config.load("test_train_learning:Cue", {"total_steps": 16_000, "num_envs": 8, "rollout_steps": 16,
                                                      "minibatch_size": 128, "runs_dir": ""})
    env = make_env(config)
    assert env.num_envs == 8 * 3 and env.masks.shape == (24,)
    trainer = Trainer(env, config=config)
    trainer.run()
    try:
        trained, episodes = mean_episode_stat(env, trainer.policy, 64, "score", seed=123)
        random_play, _ = mean_episode_stat(env, None, 64, "score", seed=123)
    finally:
        env.close()
    assert episodes == 8 * 8 * 3  # 64 ticks: 8 episodes of 8 steps per env, each ending 3 agents' episodes
    assert random_play < 0.6  # 0.5 expected
    print(f"score: trained {trained:.3f}, random play {random_play:.3f}")
    assert trained >= 0.8 and trainer.episodes.mean("score") >= 0.8


def test_unknown_env_names_say_what_is_accepted():
    import pytest

    from sailfish.train.env import check_env_name

    with pytest.raises(ValueError, match="unknown environment 'cartpol'.*gym:<id>"):
        check_env_name("cartpol")
    with pytest.raises(ValueError, match="unknown Gymnasium id 'NoSuchEnv-v0'"):
        check_env_name("gym:NoSuchEnv-v0")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module'"):
        check_env_name("no_such_module:make")
    with pytest.raises(ValueError, match="has no callable 'nothing'"):
        check_env_name("sailfish:nothing")
