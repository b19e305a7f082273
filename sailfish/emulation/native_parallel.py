"""A native env's agents as a PettingZoo ``ParallelEnv`` (for PettingZoo's tools and tests)."""
from __future__ import annotations

from typing import Any

from sailfish._extras import require
from sailfish.emulation.native_gym import OneNativeEnv

ParallelEnv = require("pettingzoo", "a native env as a PettingZoo ParallelEnv").ParallelEnv


class NativeParallelEnv(OneNativeEnv, ParallelEnv):
    """One native env instance, its ``agents_per_env`` rows as agents ``agent_0``, ``agent_1``, ...

    Works for any native env (a single-agent one is a ParallelEnv with one agent). An agent
    whose row reports terminal or truncated leaves ``agents``; the native env keeps stepping
    its row (with its last action) and the results are dropped. When no agent is left the
    episode is over and ``reset()`` starts a new one. As for ``NativeGymEnv``, an agent's
    final observation is its row after the native autoreset (``info["next_episode_observation"]``).
    """

    metadata = {"render_modes": ["rgb_array"], "name": "sailfish_native", "is_parallelizable": True}

    def __init__(self, name: str, render_mode: str | None = None, seed: int = 0, **config: Any) -> None:
        self._open(name, render_mode, seed, config)
        self.metadata = {**self.metadata, "name": f"sailfish_{name}"}
        self.possible_agents = [f"agent_{i}" for i in range(self._vec.agents_per_env)]
        self.agents: list[str] = []
        self._index = {agent: i for i, agent in enumerate(self.possible_agents)}
        self._observation_space = self._vec.single_observation_space
        self._action_space = self._vec.single_action_space

    def observation_space(self, agent: str) -> Any:
        return self._observation_space

    def action_space(self, agent: str) -> Any:
        return self._action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self._vec.reset(seed=seed)
        self.agents = list(self.possible_agents)
        obs = self._vec.observations
        return {a: obs[i].copy() for i, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        vec = self._vec
        live = self.agents
        missing = [a for a in live if a not in actions]
        if missing:
            raise ValueError(f"{self.name}: no action for live agents {missing}")
        for agent in live:
            vec.actions[self._index[agent]] = actions[agent]
        vec.step(vec.actions)
        obs, rewards, terms, truncs, infos = {}, {}, {}, {}, {}
        for agent in live:
            i = self._index[agent]
            obs[agent] = vec.observations[i].copy()
            rewards[agent] = float(vec.rewards[i])
            terms[agent], truncs[agent] = bool(vec.terminals[i]), bool(vec.truncations[i])
            infos[agent] = {"next_episode_observation": True} if terms[agent] or truncs[agent] else {}
        self.agents = [a for a in live if not (terms[a] or truncs[a])]
        return obs, rewards, terms, truncs, infos
