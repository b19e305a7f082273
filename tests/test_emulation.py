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


def test_agents_with_different_observation_spaces_are_padded_with_a_one_hot_agent_type():
    env = Tag()
    spaces = {"a0": gym.spaces.Box(-100, 100, (2,), np.float32),
              "a1": gym.spaces.Dict({"pos": gym.spaces.Box(-100, 100, (2,), np.float32),
                                     "id": gym.spaces.Discrete(4)})}
    env.observation_space = lambda agent: spaces.get(agent, spaces["a0"])
    env._obs = lambda: {a: ({"pos": np.array([2, env.t], np.float32), "id": 3} if a == "a1"
                            else np.array([env.possible_agents.index(a) + 1, env.t], np.float32))
                        for a in env.agents}
    adapter = emulate(env)
    assert adapter.spaces.padded and adapter.spaces.type_names == ["a0", "a1"]  # a0 and a2 share one type
    assert adapter.spaces.agent_types.tolist() == [0, 1, 0]
    assert adapter.observation_layout.shape == (3 + 2,)  # the longest observation (a1: 3 numbers) + 2 types
    adapter.reset()
    adapter.step()
    rows = adapter.rows.observations
    assert rows[0].tolist() == [1, 1, 0, 1, 0]  # a0: its 2 numbers, zero padding, type 0
    assert rows[1].tolist() == [3, 2, 1, 0, 1]  # a1: Dict leaves in key order (id, pos), type 1
    assert rows[2].tolist() == [3, 1, 0, 1, 0]  # a2 shares a0's spaces, so its type
    assert adapter.action_counts.tolist() == [2, 2, 2] and adapter.action_masks.all()


def test_agents_with_different_action_counts_are_padded_to_the_largest_discrete_and_recorded():
    env = Tag()
    env.action_space = lambda agent: gym.spaces.Discrete(5) if agent == "a1" else gym.spaces.Discrete(2)
    seen = []
    step = env.step
    env.step = lambda actions: (seen.append(dict(actions)), step(actions))[1]
    adapter = emulate(env)
    assert adapter.action_layout.flat_space == gym.spaces.Discrete(5)
    assert adapter.action_counts.tolist() == [2, 5, 2]
    assert adapter.action_masks.tolist() == [[True, True, False, False, False], [True] * 5,
                                             [True, True, False, False, False]]
    adapter.reset()
    adapter.rows.actions[:] = [4, 4, 4]
    adapter.step()
    assert seen[-1] == {"a0": 0, "a1": 4}  # a0 lacks action 4: it plays 4 % 2 = 0
    adapter.rows.actions[:] = [3, 2, 3]
    adapter.step()
    assert seen[-1] == {"a0": 1, "a1": 2, "a2": 1}  # a2 joined after step 1


def test_agents_with_different_continuous_action_spaces_are_refused_with_the_spaces_named():
    env = Tag()
    env.action_space = lambda agent: gym.spaces.Box(-1, 1, (3 if agent == "a1" else 2,), np.float32)
    with pytest.raises(ValueError, match=r"needs every action space to be Discrete.*'a1' has Box"):
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
