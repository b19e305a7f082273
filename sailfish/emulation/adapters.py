"""Gymnasium and PettingZoo envs as fixed rows of shared buffers.

An adapter owns one Python env and ``num_agents`` rows of the vector env's buffers. It reads
actions from its rows, steps the env, and writes observations, rewards, flags and masks back
in place. Autoreset is same-step, like the native envs: when an episode ends, that step's
reward and flags are the final transition's and the observation is the next episode's first.

PettingZoo's two families: a ``ParallelEnv`` (including ``aec_to_parallel`` wrappers such as
MPE's ``parallel_env()``, whose ``agents`` exist only after ``reset``) gets a
``PettingZooAdapter``; an ``AECEnv`` is converted with PettingZoo's ``aec_to_parallel`` when its
metadata says ``is_parallelizable``, and otherwise (turn-based games: chess, connect four,
tic-tac-toe) gets an ``AECAdapter`` (``sailfish.emulation.aec``). Agents with different spaces
are padded to one layout (``sailfish.emulation.agent_spaces``).
"""
from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym

from sailfish.emulation.action_masks import MASK_KEY, split_mask, write_mask
from sailfish.emulation.aec import AECAdapter
from sailfish.emulation.agent_spaces import AgentRows, set_up_agents
from sailfish.emulation.base import EpisodeStats, Rows, env_name, summarize
from sailfish.spaces import action_layout, observation_layout

__all__ = ["Adapter", "AECAdapter", "EpisodeStats", "GymnasiumAdapter", "PettingZooAdapter", "Rows", "emulate",
           "env_name", "is_aec_env", "is_parallel_env", "make_adapter", "summarize"]


class GymnasiumAdapter:
    """One Gymnasium env as one row; its mask is always True.

    Episode stats: return, length, and score (``info["score"]`` on the final step, else the
    return). Per-step ``info`` dicts are not forwarded: the fast path carries only buffers. A
    legal-action mask comes from a Dict observation's ``"action_mask"`` (for an env that gives it
    in ``info``, wrap it in ``sailfish.emulation.ActionMaskFromInfo``).
    """

    def __init__(self, env: gym.Env):
        self.env = env
        self.name = env_name(env)
        self.num_agents = 1
        obs_space, self.mask_width = split_mask(env.observation_space, env.action_space, self.name)
        self.observation_layout = observation_layout(obs_space)
        self.action_layout = action_layout(env.action_space)
        self.stats = EpisodeStats()
        self._return = 0.0
        self._length = 0
        self.bind(Rows.allocate(1, self.observation_layout, self.action_layout, self.mask_width))

    def bind(self, rows: Rows) -> None:
        """Points the adapter at its rows of the vector buffers."""
        self.rows = rows
        self._obs_views = self.observation_layout.leaf_views(rows.observations[0])
        rows.masks[:] = True

    def _write_mask(self, obs: Any) -> None:
        if self.mask_width:
            write_mask(self.rows.action_masks[0], obs[MASK_KEY])

    def reset(self, seed: int | None = None) -> None:
        """Starts a new episode (discarding the running one's stats)."""
        obs, _ = self.env.reset(seed=seed)
        self._return, self._length = 0.0, 0
        self.observation_layout.write(obs, self._obs_views)
        self._write_mask(obs)
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
        self._write_mask(obs)
        rows.rewards[0] = reward
        rows.terminals[0] = terminated
        rows.truncations[0] = truncated

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


class PettingZooAdapter(AgentRows):
    """One PettingZoo ``ParallelEnv`` as ``len(possible_agents)`` rows, in ``possible_agents`` order.

    Agents with different observation or action spaces are padded to one row layout with an
    agent-type feature (``AgentSpaces``; ``action_counts`` / ``action_masks`` say which actions
    each row's agent has). A row whose agent is absent
    (not yet spawned, or dead) holds a zero observation, reward 0, ``terminal=True`` (so no
    value bootstraps through padding) and ``mask=False``. The mask is True exactly when the
    row's agent is in ``env.agents`` after the step, i.e. when its observation is real and its
    next action will be used. An agent's final step carries its real reward and flags with
    ``mask=False``. When ``env.agents`` is empty the env resets in the same step.

    Episode stats are per agent: each agent's episode ends when it terminates or truncates
    (score: ``infos[agent]["score"]`` on that step, else its return).
    """

    def __init__(self, env: Any):
        # ``agents`` is not checked: wrappers such as aec_to_parallel_wrapper (MPE's parallel_env())
        # define it only in reset()
        if not is_parallel_env(env):
            raise TypeError(f"{type(env).__name__} is not a PettingZoo ParallelEnv (it needs possible_agents, "
                            "observation_space(agent), action_space(agent), reset and step)")
        set_up_agents(self, env)
        self._alive: list[bool] = [False] * self.num_agents
        self.bind(Rows.allocate(self.num_agents, self.observation_layout, self.action_layout, self.mask_width))

    def _write_observations(self, obs: dict) -> None:
        live = set(self.env.agents)
        action_masks = self.rows.action_masks
        for i, agent in enumerate(self.agents):
            self._alive[i] = alive = agent in live and agent in obs
            self.rows.masks[i] = alive
            if alive:
                self.spaces.write(i, obs[agent], self._obs_views[i])
                self.spaces.write_mask(obs[agent], None if action_masks is None else action_masks[i])
            else:
                self.rows.observations[i] = 0
                if self.spaces.mask_from_observation:
                    action_masks[i] = True

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
        actions = {agent: self.spaces.action(i, rows.actions[i])
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


Adapter = GymnasiumAdapter | PettingZooAdapter | AECAdapter


def _pettingzoo_bases() -> tuple[type | None, type | None]:
    """PettingZoo's ``AECEnv`` and ``ParallelEnv`` if pettingzoo is installed (it is optional)."""
    try:
        from pettingzoo.utils.env import AECEnv, ParallelEnv
    except ImportError:
        return None, None
    return AECEnv, ParallelEnv


def is_aec_env(env: Any) -> bool:
    """True for a PettingZoo ``AECEnv`` (wrappers included)."""
    aec, _ = _pettingzoo_bases()
    return aec is not None and isinstance(env, aec)


def is_parallel_env(env: Any) -> bool:
    """True for a PettingZoo ``ParallelEnv``, or an object with its methods and ``possible_agents``."""
    _, parallel = _pettingzoo_bases()
    if parallel is not None and isinstance(env, parallel):
        return True
    return (hasattr(env, "possible_agents") and not is_aec_env(env)
            and all(callable(getattr(env, m, None)) for m in ("observation_space", "action_space", "reset", "step")))


def emulate(env: Any) -> Adapter:
    """Wraps a Gymnasium env, a PettingZoo ``ParallelEnv`` or a PettingZoo ``AECEnv`` in its adapter.

    An ``AECEnv`` whose ``metadata["is_parallelizable"]`` is true is converted with PettingZoo's
    ``aec_to_parallel``; any other (turn-based) one is stepped an agent at a time by ``AECAdapter``.

    Raises:
        TypeError: none of these.
    """
    if isinstance(env, (GymnasiumAdapter, PettingZooAdapter, AECAdapter)):
        return env
    if is_aec_env(env):
        if env.metadata.get("is_parallelizable", False):
            from pettingzoo.utils.conversions import aec_to_parallel

            return PettingZooAdapter(aec_to_parallel(env))
        return AECAdapter(env)
    if is_parallel_env(env):
        return PettingZooAdapter(env)
    if isinstance(env, gym.Env) or (hasattr(env, "step") and hasattr(env, "observation_space")):
        return GymnasiumAdapter(env)
    raise TypeError(f"cannot emulate {env!r}: expected a Gymnasium env or a PettingZoo ParallelEnv or AECEnv")


def make_adapter(env_creator: Callable[[], Any]) -> Adapter:
    """Calls ``env_creator()`` and wraps the result (see ``emulate``)."""
    return emulate(env_creator())
