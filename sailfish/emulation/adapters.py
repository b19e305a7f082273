"""Gymnasium and PettingZoo envs as fixed rows of shared buffers.

An adapter owns one Python env and ``num_agents`` rows of the vector env's buffers. It reads
actions from its rows, steps the env, and writes observations, rewards, flags and masks back
in place. Autoreset is same-step, like the native envs: when an episode ends, that step's
reward and flags are the final transition's and the observation is the next episode's first.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import gymnasium as gym
import numpy as np

from sailfish.spaces import ActionLayout, ObservationLayout, action_layout, observation_layout


class Rows(NamedTuple):
    """One env's rows of the vector buffers (views; the adapter writes through them)."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    truncations: np.ndarray
    masks: np.ndarray

    @classmethod
    def allocate(cls, rows: int, obs: ObservationLayout, act: ActionLayout) -> "Rows":
        """Fresh zeroed buffers for ``rows`` rows (for using an adapter on its own)."""
        return cls(np.zeros((rows, *obs.shape), obs.dtype), np.zeros((rows, *act.shape), act.dtype),
                   np.zeros(rows, np.float32), np.zeros(rows, np.bool_), np.zeros(rows, np.bool_),
                   np.zeros(rows, np.bool_))


class EpisodeStats:
    """Running sums over finished episodes: ``totals = [episodes, return, length, score]``."""

    __slots__ = ("totals",)

    def __init__(self) -> None:
        self.totals = np.zeros(4, np.float64)

    def add(self, episode_return: float, length: int, score: float) -> None:
        self.totals += (1.0, episode_return, length, score)


def summarize(totals: np.ndarray) -> dict[str, float]:
    """Means from summed ``[episodes, return, length, score]``, keyed like the native envs'
    ``episode_stats()``; ``{}`` when no episode finished."""
    n = float(totals[0])
    if n <= 0:
        return {}
    return {"episodes": n, "episode_return": float(totals[1]) / n,
            "episode_length": float(totals[2]) / n, "score": float(totals[3]) / n}


def env_name(env: Any) -> str:
    """A short name for error messages: the Gymnasium id if registered, else the class name."""
    spec = getattr(env, "spec", None)
    if getattr(spec, "id", None):
        return spec.id
    return type(getattr(env, "unwrapped", env)).__name__


class GymnasiumAdapter:
    """One Gymnasium env as one row; its mask is always True.

    Episode stats: return, length, and score (``info["score"]`` on the final step, else the
    return). Per-step ``info`` dicts are not forwarded: the fast path carries only buffers.
    """

    def __init__(self, env: gym.Env):
        self.env = env
        self.name = env_name(env)
        self.num_agents = 1
        self.observation_layout = observation_layout(env.observation_space)
        self.action_layout = action_layout(env.action_space)
        self.stats = EpisodeStats()
        self._return = 0.0
        self._length = 0
        self.bind(Rows.allocate(1, self.observation_layout, self.action_layout))

    def bind(self, rows: Rows) -> None:
        """Points the adapter at its rows of the vector buffers."""
        self.rows = rows
        self._obs_views = self.observation_layout.leaf_views(rows.observations[0])
        rows.masks[:] = True

    def reset(self, seed: int | None = None) -> None:
        """Starts a new episode (discarding the running one's stats)."""
        obs, _ = self.env.reset(seed=seed)
        self._return, self._length = 0.0, 0
        self.observation_layout.write(obs, self._obs_views)
        self.rows.rewards[0] = 0.0
        self.rows.terminals[0] = self.rows.truncations[0] = False

    def step(self) -> None:
        """Steps with the action in the row; resets the env in the same step if the episode ended."""
        rows = self.rows
        action = self.action_layout.unflatten(rows.actions[0])
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        self._length += 1
        if terminated or truncated:
            self.stats.add(self._return, self._length, float(info.get("score", self._return)))
            self._return, self._length = 0.0, 0
            obs, _ = self.env.reset()
        self.observation_layout.write(obs, self._obs_views)
        rows.rewards[0] = reward
        rows.terminals[0] = terminated
        rows.truncations[0] = truncated

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


class PettingZooAdapter:
    """One PettingZoo ``ParallelEnv`` as ``len(possible_agents)`` rows, in ``possible_agents`` order.

    Every agent must have the same observation and action spaces. A row whose agent is absent
    (not yet spawned, or dead) holds a zero observation, reward 0, ``terminal=True`` (so no
    value bootstraps through padding) and ``mask=False``. The mask is True exactly when the
    row's agent is in ``env.agents`` after the step, i.e. when its observation is real and its
    next action will be used. An agent's final step carries its real reward and flags with
    ``mask=False``. When ``env.agents`` is empty the env resets in the same step.

    Episode stats are per agent: each agent's episode ends when it terminates or truncates
    (score: ``infos[agent]["score"]`` on that step, else its return).
    """

    def __init__(self, env: Any):
        if not hasattr(env, "possible_agents") or not hasattr(env, "agents"):
            raise TypeError(f"{type(env).__name__} is not a PettingZoo ParallelEnv (no possible_agents); "
                            "wrap AEC envs with pettingzoo.utils.conversions.aec_to_parallel")
        self.env = env
        self.name = env_name(env)
        self.agents = list(env.possible_agents)
        self.num_agents = len(self.agents)
        obs_spaces = [env.observation_space(a) for a in self.agents]
        act_spaces = [env.action_space(a) for a in self.agents]
        for kind, spaces in (("observation", obs_spaces), ("action", act_spaces)):
            for agent, space in zip(self.agents, spaces):
                if space != spaces[0]:
                    raise ValueError(f"{self.name}: every agent needs the same {kind} space; "
                                     f"{self.agents[0]!r} has {spaces[0]}, {agent!r} has {space}")
        self.observation_layout = observation_layout(obs_spaces[0])
        self.action_layout = action_layout(act_spaces[0])
        self.stats = EpisodeStats()
        self._returns = np.zeros(self.num_agents, np.float64)
        self._lengths = np.zeros(self.num_agents, np.int64)
        self._alive: list[bool] = [False] * self.num_agents
        self.bind(Rows.allocate(self.num_agents, self.observation_layout, self.action_layout))

    def bind(self, rows: Rows) -> None:
        """Points the adapter at its rows of the vector buffers."""
        self.rows = rows
        self._obs_views = [self.observation_layout.leaf_views(rows.observations[i]) for i in range(self.num_agents)]

    def _write_observations(self, obs: dict) -> None:
        live = set(self.env.agents)
        for i, agent in enumerate(self.agents):
            self._alive[i] = alive = agent in live and agent in obs
            self.rows.masks[i] = alive
            if alive:
                self.observation_layout.write(obs[agent], self._obs_views[i])
            else:
                self.rows.observations[i] = 0

    def reset(self, seed: int | None = None) -> None:
        """Starts a new episode (discarding the running ones' stats)."""
        result = self.env.reset(seed=seed)
        obs = result[0] if isinstance(result, tuple) else result
        self._returns[:] = 0
        self._lengths[:] = 0
        self._write_observations(obs)
        self.rows.rewards[:] = 0.0
        self.rows.terminals[:] = [not a for a in self._alive]
        self.rows.truncations[:] = False

    def step(self) -> None:
        """Steps live agents with the actions in their rows; same-step reset when all are gone."""
        rows = self.rows
        actions = {agent: self.action_layout.unflatten(rows.actions[i])
                   for i, agent in enumerate(self.agents) if self._alive[i]}
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        ended = not self.env.agents
        for i, agent in enumerate(self.agents):
            if not self._alive[i]:
                rows.rewards[i], rows.terminals[i], rows.truncations[i] = 0.0, True, False
                continue
            reward = float(rewards.get(agent, 0.0))
            term, trunc = bool(terms.get(agent, False)), bool(truncs.get(agent, False))
            if ended and not (term or trunc):
                trunc = True  # the env ended without saying so for this agent
            self._returns[i] += reward
            self._lengths[i] += 1
            if term or trunc:
                info = infos.get(agent) or {}
                self.stats.add(self._returns[i], int(self._lengths[i]), float(info.get("score", self._returns[i])))
                self._returns[i], self._lengths[i] = 0.0, 0
            rows.rewards[i], rows.terminals[i], rows.truncations[i] = reward, term, trunc
        if ended:
            result = self.env.reset()
            obs = result[0] if isinstance(result, tuple) else result
            self._returns[:] = 0
            self._lengths[:] = 0
        self._write_observations(obs)

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


Adapter = GymnasiumAdapter | PettingZooAdapter


def emulate(env: Any) -> Adapter:
    """Wraps a Gymnasium env or a PettingZoo ``ParallelEnv`` in its adapter.

    Raises:
        TypeError: neither (an AEC PettingZoo env is refused with the conversion to use).
    """
    if isinstance(env, (GymnasiumAdapter, PettingZooAdapter)):
        return env
    if hasattr(env, "possible_agents"):
        if hasattr(env, "agent_selection"):
            raise TypeError(f"{type(env).__name__} is a PettingZoo AEC env; wrap it with "
                            "pettingzoo.utils.conversions.aec_to_parallel first")
        return PettingZooAdapter(env)
    if isinstance(env, gym.Env) or (hasattr(env, "step") and hasattr(env, "observation_space")):
        return GymnasiumAdapter(env)
    raise TypeError(f"cannot emulate {env!r}: expected a Gymnasium env or a PettingZoo ParallelEnv")


def make_adapter(env_creator: Callable[[], Any]) -> Adapter:
    """Calls ``env_creator()`` and wraps the result (see ``emulate``)."""
    return emulate(env_creator())
