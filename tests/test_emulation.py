"""Adapters: Gymnasium and PettingZoo envs as fixed rows; native envs as Gymnasium / PettingZoo envs."""
import functools
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sailfish
from sailfish.emulation import GymnasiumAdapter, NativeGymEnv, PettingZooAdapter, emulate

pettingzoo = pytest.importorskip("pettingzoo")
from pettingzoo.test import parallel_api_test  # noqa: E402

from sailfish.emulation import NativeParallelEnv  # noqa: E402


class Countdown(gym.Env):
    """Dict observations; reward = action; ends after ``length`` steps reporting a score."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, length=3, render_mode=None):
        self.length = length
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Dict({"t": gym.spaces.Discrete(100),
                                                  "x": gym.spaces.Box(-1, 1, (2,), np.float32)})
        self.action_space = gym.spaces.Discrete(3)
        self.resets = 0

    def _obs(self):
        return {"t": self.t, "x": self.x}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.resets = 0, self.resets + 1
        self.x = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return self._obs(), {}

    def step(self, action):
        assert self.action_space.contains(action)
        self.t += 1
        done = self.t >= self.length
        return self._obs(), float(action), done, False, {"score": 100.0 + self.t} if done else {}

    def render(self):
        return np.full((4, 4, 3), self.t, np.uint8)


class Tag(pettingzoo.ParallelEnv):
    """Three agents: a0 lives 2 steps (terminates), a1 4 steps (terminates), a2 appears on
    step 1 and is truncated on step 4. Each live agent gets reward 1 per step."""

    metadata = {"name": "tag"}

    def __init__(self):
        self.possible_agents = ["a0", "a1", "a2"]
        self.agents = []

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent):
        return gym.spaces.Box(-100, 100, (2,), np.float32)

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent):
        return gym.spaces.Discrete(2)

    def _obs(self):
        return {a: np.array([self.possible_agents.index(a) + 1, self.t], np.float32) for a in self.agents}

    def reset(self, seed=None, options=None):
        self.t, self.agents = 0, ["a0", "a1"]
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions):
        assert set(actions) == set(self.agents), (actions, self.agents)
        self.t += 1
        live = list(self.agents)
        rewards = {a: 1.0 for a in live}
        terms = {a: (a == "a0" and self.t == 2) or (a == "a1" and self.t == 4) for a in live}
        truncs = {a: a == "a2" and self.t == 4 for a in live}
        infos = {a: {} for a in live}
        self.agents = [a for a in live if not (terms[a] or truncs[a])]
        if self.t == 1:  # a2 appears: PettingZoo wants it in every dict of this step
            self.agents.append("a2")
            rewards["a2"], terms["a2"], truncs["a2"], infos["a2"] = 0.0, False, False, {}
        return self._obs() | {a: np.zeros(2, np.float32) for a in live if a not in self.agents}, \
            rewards, terms, truncs, infos


def test_gymnasium_adapter_resets_in_the_same_step_and_keeps_the_final_reward():
    adapter = emulate(Countdown(length=3))
    assert isinstance(adapter, GymnasiumAdapter) and adapter.rows.masks.all()
    adapter.reset(seed=1)
    for step in range(1, 4):
        adapter.rows.actions[0] = 2
        adapter.step()
        view = adapter.observation_layout.views(adapter.rows.observations)
        assert adapter.rows.rewards[0] == 2.0 and adapter.rows.terminals[0] == (step == 3)
        assert view["t"][0] == (0 if step == 3 else step)  # the next episode's first observation
    assert adapter.env.resets == 2
    assert adapter.stats.totals.tolist() == [1, 6.0, 3, 103.0]  # score from info["score"]


def test_pettingzoo_adapter_pads_absent_agents_with_zero_rows_and_masks():
    adapter = emulate(Tag())
    assert isinstance(adapter, PettingZooAdapter) and adapter.num_agents == 3
    rows = adapter.rows
    adapter.reset()
    assert rows.masks.tolist() == [True, True, False] and rows.observations[2].tolist() == [0, 0]
    expected = [  # masks, rewards, terminals, truncations after steps 1..4
        ([True, True, True], [1, 1, 0], [False, False, True], [False, False, False]),
        ([False, True, True], [1, 1, 1], [True, False, False], [False, False, False]),
        ([False, True, True], [0, 1, 1], [True, False, False], [False, False, False]),
        ([True, True, False], [0, 1, 1], [True, True, False], [False, False, True]),  # all gone: reset
    ]
    for step, (masks, rewards, terminals, truncations) in enumerate(expected, 1):
        adapter.step()
        assert rows.masks.tolist() == masks, step
        assert rows.rewards.tolist() == rewards and rows.terminals.tolist() == terminals, step
        assert rows.truncations.tolist() == truncations, step
        for i in range(3):
            assert (rows.observations[i] == 0).all() != rows.masks[i]
    # a0: 2 steps, a1: 4 steps, a2: 3 steps; returns equal lengths
    assert adapter.stats.totals.tolist() == [3, 9.0, 9, 9.0]


def test_pettingzoo_adapter_refuses_agents_with_different_spaces():
    env = Tag()
    env.observation_space = lambda agent: gym.spaces.Box(0, 1, (2 if agent == "a0" else 3,), np.float32)
    with pytest.raises(ValueError, match="same observation space"):
        emulate(env)


def test_emulate_refuses_what_it_cannot_wrap():
    with pytest.raises(TypeError, match="cannot emulate"):
        emulate(object())


def no_gymnasium_warnings(record):
    return [str(w.message) for w in record if "spec" not in str(w.message)]


@pytest.mark.parametrize("name", list(sailfish.envs.names()))
@pytest.mark.parametrize("render_mode", [None, "rgb_array"])
def test_native_env_passes_gymnasium_check_env(name, render_mode):
    if sailfish.envs.spec(name).agents_per_env != 1:
        pytest.skip("multi-agent: see the ParallelEnv test")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        check_env(NativeGymEnv(name, render_mode=render_mode))
    assert no_gymnasium_warnings(record) == []


def test_native_gym_env_returns_the_next_episode_observation_and_requires_reset():
    env = NativeGymEnv("cartpole")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset(seed=3)
    for _ in range(500):
        obs, reward, terminated, truncated, info = env.step(0)
        if terminated or truncated:
            break
    assert terminated and info == {"next_episode_observation": True} and reward == 1.0
    assert env.observation_space.contains(obs) and abs(obs[2]) < 0.06  # a fresh pole angle
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.close()
    env.close()


@pytest.mark.parametrize("name", list(sailfish.envs.names()))
def test_native_env_passes_pettingzoo_parallel_api_test(name):
    env = NativeParallelEnv(name)
    assert len(env.possible_agents) == sailfish.envs.spec(name).agents_per_env
    parallel_api_test(env, num_cycles=300)


@pytest.mark.skipif("snake" not in sailfish.envs.names(), reason="the snake env is not built yet")
def test_snake_passes_pettingzoo_parallel_api_test():
    env = NativeParallelEnv("snake")
    assert len(env.possible_agents) > 1
    parallel_api_test(env, num_cycles=1000)


def test_toy_parallel_env_is_a_valid_pettingzoo_env():
    parallel_api_test(Tag(), num_cycles=10)
