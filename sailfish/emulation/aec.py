"""A turn-based PettingZoo ``AECEnv`` (connect four, tic-tac-toe, chess) as fixed rows.

PettingZoo's ``aec_to_parallel`` is valid only for AEC envs that update once per cycle of all
agents (``metadata["is_parallelizable"]``); in a turn-based game each move changes what the
next player sees, so ``emulate`` steps those with ``AECAdapter``: one agent moves per step.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sailfish.emulation.agent_spaces import AgentRows, set_up_agents
from sailfish.emulation.base import Rows


class AECAdapter(AgentRows):
    """One PettingZoo ``AECEnv`` as ``len(possible_agents)`` rows; one env step is one agent's move.

    After ``reset`` and after every ``step``:

    - the row of ``agent_selection`` (the agent to move) holds its observation, ``mask=True``;
      ``step`` plays the action in that row and ignores the others;
    - the row of every other agent still in the game holds its own current observation
      (``observe(agent)``) with ``mask=False`` and ``terminal=False``: it makes no decision this
      step, but its episode goes on, so a reward it gets while waiting (the opponent's winning
      move gives it -1) lands on this row and advantages carry it back to its last move;
    - rows of agents not in the game are zeros with ``terminal=True``, ``mask=False``.

    Rewards are the env's ``rewards`` after the move, for every agent; an agent's flags are its
    ``terminations`` / ``truncations``. Agents that are done are then stepped out with ``None``
    as the AEC API requires, and when none is left the env resets in the same step.

    Episode stats are per agent: return, length in the agent's own moves, and score
    (``infos[agent]["score"]`` when its episode ends, else its return). Agents with different
    spaces are padded as for ``PettingZooAdapter`` (``AgentSpaces``).
    """

    def __init__(self, env: Any):
        set_up_agents(self, env)
        self._index = {agent: i for i, agent in enumerate(self.agents)}
        self._in_game = np.zeros(self.num_agents, np.bool_)
        self._mover = -1
        self.bind(Rows.allocate(self.num_agents, self.observation_layout, self.action_layout, self.mask_width))

    def _step_out_done_agents(self) -> None:
        env = self.env
        while env.agents and (env.terminations[env.agent_selection] or env.truncations[env.agent_selection]):
            env.step(None)

    def _write_observations(self) -> None:
        env, rows = self.env, self.rows
        self._in_game[:] = False
        for agent in env.agents:
            self._in_game[self._index[agent]] = True
        self._mover = self._index[env.agent_selection] if env.agents else -1
        for i, agent in enumerate(self.agents):
            rows.masks[i] = i == self._mover
            if self._in_game[i]:
                obs = env.observe(agent)
                self.spaces.write(i, obs, self._obs_views[i])
                self.spaces.write_mask(obs, None if rows.action_masks is None else rows.action_masks[i])
            else:
                rows.observations[i] = 0
                if self.spaces.mask_from_observation:
                    rows.action_masks[i] = True

    def reset(self, seed: int | None = None) -> None:
        """Starts a new game (discarding the running one's stats)."""
        self.env.reset(seed=seed)
        self._step_out_done_agents()
        self._returns[:] = 0
        self._lengths[:] = 0
        self._write_observations()
        self.rows.rewards[:] = 0.0
        self.rows.terminals[:] = ~self._in_game
        self.rows.truncations[:] = False

    def step(self) -> None:
        """Plays the mover's action; rewards and flags for every agent; same-step reset at the end."""
        env, rows, mover = self.env, self.rows, self._mover
        in_game = self._in_game.copy()
        env.step(self.spaces.action(mover, rows.actions[mover]))
        self._lengths[mover] += 1
        for i, agent in enumerate(self.agents):
            if not in_game[i]:
                rows.rewards[i], rows.terminals[i], rows.truncations[i] = 0.0, True, False
                continue
            reward = float(env.rewards.get(agent, 0.0))
            term = bool(env.terminations.get(agent, False))
            trunc = bool(env.truncations.get(agent, False))
            self._returns[i] += reward
            if term or trunc:
                info = env.infos.get(agent) or {}
                self.stats.add(self._returns[i], int(self._lengths[i]), float(info.get("score", self._returns[i])))
                self._returns[i], self._lengths[i] = 0.0, 0
            rows.rewards[i], rows.terminals[i], rows.truncations[i] = reward, term, trunc
        self._step_out_done_agents()
        if not env.agents:
            env.reset()
            self._step_out_done_agents()
            self._returns[:] = 0
            self._lengths[:] = 0
        self._write_observations()

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()
