"""Async collection (``Config.env_batch_size``): the collector acts on one batch of rows while the
other workers step, and every row keeps its own timeline."""
import time

import gymnasium as gym
import numpy as np
import pytest
import torch

import sailfish
from sailfish.policies import Categorical
from sailfish.train import Config, Trainer
from sailfish.train.collector import Collector
from sailfish.train.experience import Experience


class Walk(gym.Env):
    """A deterministic walk: obs [position, steps taken]; action 0/1/2 moves -1/0/+1, reward = the move;
    the episode ends after 3 + (seed % 5) steps."""

    observation_space = gym.spaces.Box(-100, 100, (2,), np.float32)
    action_space = gym.spaces.Discrete(3)

    def __init__(self, sleep_s=0.0):
        self.sleep_s, self.length = sleep_s, 3

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.length = 3 + seed % 5
        self.x, self.t = 0, 0
        return np.array([self.x, self.t], np.float32), {}

    def step(self, action):
        if self.sleep_s:
            time.sleep(self.sleep_s)
        self.x += int(action) - 1
        self.t += 1
        return np.array([self.x, self.t], np.float32), float(action) - 1.0, self.t >= self.length, False, {}


class Deterministic(torch.nn.Module):
    """Picks action (steps taken) % 3 with certainty; value = position."""

    dist = Categorical(3)

    def forward(self, obs, state=None):
        params = 1000.0 * torch.nn.functional.one_hot(obs[:, 1].long() % 3, 3).float()
        return params, obs[:, 0], None


def collections(batch_size, times=3):
    env = sailfish.vector.make(Walk, num_envs=4, backend="serial", batch_size=batch_size, seed=0, log_interval=0)
    exp = Experience(4, 8, 4, (2,), np.float32, (), torch.int64, torch.device("cpu"))
    collector = Collector(env, Deterministic(), Deterministic.dist, exp, torch.Generator().manual_seed(0))
    collector.begin(0)
    out = []
    for _ in range(times):
        collector.collect([None])
        out.append({k: v.clone() for k, v in exp.tensors().items()})
    env.close()
    return out, collector.is_async


def test_async_collection_gives_every_row_the_timeline_of_a_synchronous_one():
    sync, was_async = collections(None)
    assert not was_async
    for batch_size in (1, 2):
        async_, was_async = collections(batch_size)
        assert was_async
        for a, b in zip(sync, async_):
            for name in ("obs", "rewards", "terminals", "truncations", "starts", "actions", "logprobs", "values",
                         "next_values"):
                assert torch.equal(a[name], b[name]), name
    # and the timelines are real ones: episodes of 3 + (seed + i) % 5 steps, position moving by the reward
    assert sync[0]["terminals"][0].nonzero().flatten().tolist() == [2, 5]
    assert sync[0]["terminals"][1].nonzero().flatten().tolist() == [3, 7]


def test_a_slow_env_trains_through_async_collection_on_two_workers():
    config = Config(num_envs=8, env_batch_size=4, rollout_steps=16, bptt_horizon=16, minibatch_size=64,
                    total_steps=8 * 16 * 3, runs_dir="", log_seconds=0, num_workers=2)
    env = sailfish.vector.make(lambda: Walk(sleep_s=100e-6), num_envs=8, backend="multiprocessing", num_workers=2,
                               batch_size=config.env_batch_size, seed=0, log_interval=0)
    try:
        trainer = Trainer(env, config=config)
        assert trainer.collector.is_async
        metrics = trainer.run()
        assert trainer.update_count == 3 and metrics["episode/count"] > 0
        exp = trainer.experience
        # each row's steps are consecutive: the step counter in its observations goes up by one, or restarts
        t = exp.obs[..., 1]
        assert torch.all((t[:, 1:] == t[:, :-1] + 1) | (t[:, 1:] == 0))
        assert torch.equal(exp.starts[:, 1:], exp.terminals[:, :-1] | exp.truncations[:, :-1])
    finally:
        env.close()


def test_env_batch_size_is_checked_and_passed_to_the_vector_env():
    with pytest.raises(ValueError, match="env_batch_size"):
        Config(num_envs=8, env_batch_size=3)
    from sailfish.train.env import make_env

    env = make_env(Config.load("gym:CartPole-v1", {"num_envs": 4, "env_batch_size": 2, "runs_dir": ""}))
    assert env.batch_size == 2
    env.close()
