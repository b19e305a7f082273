"""``OpponentEnv``: a multi-row vector env seen by the trainer as the learner's rows only.

The wrapped env's instances each own ``agents_per_env`` rows (connect4 and pong ``players = 2``: one
per side; snake: one per snake; mmo: one per agent). The first ``learner_rows_per_env`` rows of each
instance are the learner's and reach the trainer; the others are played inside ``step`` by opponents
(``sailfish.league.opponents``), batched per opponent under ``torch.inference_mode()``. Every ``step``
is one step of the wrapped env: in a turn-based game the learner's row is padding (``masks`` False)
while an opponent moves, so the trainer leaves those samples out of its losses, as it does for any
padded row (a dead mmo agent's, say), and its GAE hands their rewards and game ends (an opponent's
winning move) to the learner's previous move (``sailfish.train.advantage``).

Episodes and games are told apart. An episode is one learner row's, ended by its own terminal or
truncation (a game of connect4 or pong, a life of a snake or an mmo agent). A game is one env
instance's, and ends on a step where every one of its rows ends at once: every episode in connect4
and pong, the world's ``horizon`` in mmo, the arena's ``horizon`` in snake (with ``horizon = 0`` an
arena never ends, so its first opponent plays it for good). The learner wins a game when its rows
earned more reward in it, per row, than the opponent's (connect4 and pong: its return is > 0); a
matchmaker (a ``League``, or one fixed opponent) hears the result and chooses the env's next
opponent then, never during a game.

``mirror_envs`` instances are the learner's on every row: it plays its live self there, both sides'
moves reach the trainer, and those games are neither rated nor counted in ``episode_stats``. Only
the other instances play the matchmaker's opponents.

``alternate_seats`` moves the learner one seat on after each game, for envs whose seats differ.
Connect4 alternates which row moves first game by game, and pong's serve alternates between sides
whose observations are mirror images, so in both the learner keeps row 0 (in connect4 alternating
seats as well would make it move first every game).
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector.utils import batch_space

from sailfish.emulation import summarize
from sailfish.league.opponents import Opponent


@runtime_checkable
class Matchmaker(Protocol):
    """Chooses opponents and hears how games against them ended (``League`` implements it)."""

    def sample(self, rng: np.random.Generator) -> int:
        """The id of the opponent for an env's next game."""
        ...

    def opponent(self, opponent_id: int) -> Opponent:
        """The opponent an id names (valid for as long as a game against it runs)."""
        ...

    def record(self, opponent_id: int, learner_score: float) -> None:
        """A game against ``opponent_id`` ended: ``learner_score`` 1 win, 0.5 draw, 0 loss."""
        ...


class FixedOpponent:
    """A matchmaker of one opponent (id 0), for every env and game; it records nothing."""

    def __init__(self, opponent: Opponent):
        self._opponent = opponent

    def sample(self, rng: np.random.Generator) -> int:
        return 0

    def opponent(self, opponent_id: int) -> Opponent:
        return self._opponent

    def record(self, opponent_id: int, learner_score: float) -> None:
        pass


class OpponentEnv(gym.vector.VectorEnv):
    """The learner's rows of ``env``, its other rows played by opponents (see the module docstring).

    Args:
        env: a vector env with Sailfish's buffers, ``agents_per_env`` rows per instance and ``masks``.
        learner_rows_per_env: how many of each instance's rows are the learner's (1 to
            ``agents_per_env - 1``): the first ones (until ``alternate_seats`` moves them).
        league: a ``Matchmaker`` (e.g. ``League``), or one ``Opponent`` played in every env.
        alternate_seats: after each game, rotate the rows of that env by one, so the learner takes
            each seat equally often (leave False for connect4, which alternates the first move itself).
        seed: seed of the matchmaking draws.
        mirror_envs: how many instances (the first ones) the learner plays on every row, against itself
            (0 to ``num_instances - 1``: at least one plays the opponents, so the learner is rated).

    The buffers (``observations``, ``actions``, ``rewards``, ``terminals``, ``truncations``, ``masks``,
    and ``action_masks`` when ``env`` has legal-action masks; opponents act under theirs too) are the
    wrapper's own, written in place by ``reset`` and ``step``: every row of the ``mirror_envs``
    instances first, then ``learner_rows_per_env`` rows of each other instance.
    ``episode_stats()`` counts the learner's episodes against opponents: ``score`` is the fraction whose
    return is > 0 (connect4, pong: the win rate), ``episode_length`` the steps its row acted in.
    """

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}

    def __init__(self, env, learner_rows_per_env: int = 1, league: Matchmaker | Opponent | None = None, *,
                 alternate_seats: bool = False, seed: int = 0, mirror_envs: int = 0):
        A = int(getattr(env, "agents_per_env", 1))
        L = int(learner_rows_per_env)
        if not 1 <= L < A:
            raise ValueError(f"learner_rows_per_env: must be 1 to agents_per_env - 1 = {A - 1} (the env has {A} "
                             f"rows per instance; connect4 and pong need players = 2), got {learner_rows_per_env}")
        if getattr(env, "masks", None) is None:
            raise ValueError(f"{env!r}: OpponentEnv needs an env with a masks buffer (which rows act)")
        if league is None:
            raise ValueError("league: give a League, another Matchmaker, or one Opponent")
        self.env, self.league = env, league if isinstance(league, Matchmaker) else FixedOpponent(league)
        self.alternate_seats = bool(alternate_seats)
        self.rng = np.random.default_rng(seed)
        N = self.num_instances = self.num_env_instances = int(env.num_instances)
        M = self.mirror_envs = int(mirror_envs)
        if not 0 <= M < N:
            raise ValueError(f"mirror_envs: must be 0 to num_instances - 1 = {N - 1} (at least one instance plays "
                             f"the opponents), got {mirror_envs}")
        # agents_per_env: the learner's rows of an instance that plays opponents (a mirror one has A)
        self.agents_per_env, self._rows_per_env = L, A
        self._mirror_rows = M * A  # the learner's rows in the mirror instances, which come first
        self.num_rows = self.num_envs = M * A + (N - M) * L
        self.name = getattr(env, "name", "env")
        self.single_observation_space = env.single_observation_space
        self.single_action_space = env.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_rows)
        self.action_space = batch_space(self.single_action_space, self.num_rows)
        self.render_mode = "rgb_array"
        rows = self.num_rows
        self.observations = np.zeros((rows, *env.observations.shape[1:]), env.observations.dtype)
        self.actions = np.zeros((rows, *env.actions.shape[1:]), env.actions.dtype)
        self.rewards = np.zeros(rows, np.float32)
        self.terminals = np.zeros(rows, bool)
        self.truncations = np.zeros(rows, bool)
        self.masks = np.ones(rows, bool)
        # the learner's rows of the env's legal-action masks (connect4's full columns), if it has them
        inner_masks = getattr(env, "action_masks", None)
        self.action_masks = None if inner_masks is None else np.ones((rows, inner_masks.shape[1]), bool)
        self.seats = np.tile(np.arange(A), (N, 1))  # seats[i]: env i's rows, the learner's first
        self.assigned = np.full(N, -1, np.int64)  # the opponent id playing each env's current game (-1: mirror)
        self._opponents: dict[int, Opponent] = {}  # the opponents of games in progress
        self._returns = np.zeros(rows, np.float64)  # of each learner row's episode so far
        self._lengths = np.zeros(rows, np.int64)
        self._game_returns = np.zeros((N, 2), np.float64)  # each env's game so far: learner's, opponent's rows
        self._totals = np.zeros(4, np.float64)  # learner episodes, return, length, wins
        self._box = isinstance(self.single_action_space, gym.spaces.Box)
        self._index_rows()
        self.closed = False

    # ------------------------------------------------------------------ the protocol
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Resets the wrapped env, seats every learner in its first seat and draws the opponent of every
        env but the mirror ones."""
        self.env.reset(seed=seed)
        if seed is not None:
            self.rng = np.random.default_rng([int(seed), 17])
        self.seats[:] = np.arange(self._rows_per_env)
        self._index_rows()
        self._opponents.clear()
        for i in range(self.mirror_envs, self.num_instances):
            self._assign(i)
        self._returns[:] = 0
        self._lengths[:] = 0
        self._game_returns[:] = 0
        self._gather_observations()
        return self.observations, {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """The learner's ``actions`` on its rows, the opponents' on theirs, one step of the wrapped env."""
        if actions is not self.actions:
            a = np.asarray(actions)
            if a.shape != self.actions.shape:
                raise ValueError(f"{self.name}: actions must have shape {self.actions.shape}, got {a.shape}")
            np.copyto(self.actions, a, casting="unsafe")
        env = self.env
        env.actions[self._learner_rows] = self.actions
        self._act_opponents()
        env.step(env.actions)
        live = self.masks.copy()  # whether the learner acted this step (the masks read with its observation)
        np.take(env.rewards, self._learner_rows, out=self.rewards)
        np.take(env.terminals, self._learner_rows, out=self.terminals)
        np.take(env.truncations, self._learner_rows, out=self.truncations)
        self._returns += self.rewards
        self._lengths += live
        N, M, A = self.num_instances, self.mirror_envs, self._rows_per_env
        self._game_returns[M:, 0] += self.rewards[self._mirror_rows:].reshape(N - M, -1).sum(1)
        self._game_returns[M:, 1] += env.rewards[self._opponent_rows].reshape(N - M, -1).sum(1)
        ended = self.terminals | self.truncations
        if ended.any():
            self._end_episodes(np.flatnonzero(ended))
            game_over = (env.terminals | env.truncations).reshape(N, A)[M:].all(1)
            if game_over.any():
                self._end_games(M + np.flatnonzero(game_over))
        self._gather_observations()
        return self.observations, self.rewards, self.terminals, self.truncations, {}

    def episode_stats(self) -> dict[str, float]:
        """Means of the learner's episodes against opponents finished since the last call (``{}`` if none)."""
        self.env.episode_stats()  # drained so the wrapped env's counters do not pile up (its row 0's view)
        out, self._totals = summarize(self._totals), np.zeros(4, np.float64)
        return out

    def render(self, index: int = 0) -> np.ndarray:
        """The wrapped env's ``render(index)``."""
        return self.env.render(index)

    def close(self, **kwargs: Any) -> None:
        """Closes the wrapped env (idempotent)."""
        if not self.closed:
            self.closed = True
            self.env.close()

    # ------------------------------------------------------------------ inside a step
    def _index_rows(self) -> None:
        L, A, M = self.agents_per_env, self._rows_per_env, self.mirror_envs
        base = np.arange(self.num_instances)[:, None] * A
        self._learner_rows = np.concatenate([np.arange(M * A), (base[M:] + self.seats[M:, :L]).ravel()])
        self._opponent_rows = (base[M:] + self.seats[M:, L:]).ravel()
        self._opponent_env = np.repeat(np.arange(M, self.num_instances), A - L)

    def _gather_observations(self) -> None:
        np.take(self.env.observations, self._learner_rows, axis=0, out=self.observations)
        np.take(self.env.masks, self._learner_rows, out=self.masks)
        if self.action_masks is not None:
            np.take(self.env.action_masks, self._learner_rows, axis=0, out=self.action_masks)

    def _act_opponents(self) -> None:
        """Each opponent acts on the rows it plays that are live this step, all in one batch."""
        env = self.env
        live = env.masks[self._opponent_rows]
        if not live.any():
            return
        rows, envs = self._opponent_rows[live], self._opponent_env[live]
        ids = self.assigned[envs]
        with torch.inference_mode():
            for uid in np.unique(ids):
                batch = rows[ids == uid]
                obs = torch.from_numpy(env.observations[batch])
                if self.action_masks is None:
                    actions = self._opponents[int(uid)].act(obs)
                else:
                    actions = self._opponents[int(uid)].act(obs, torch.from_numpy(env.action_masks[batch]))
                actions = actions.cpu().numpy()
                if self._box:
                    actions = np.clip(actions, self.single_action_space.low, self.single_action_space.high)
                env.actions[batch] = actions.reshape(len(batch), *env.actions.shape[1:])

    def _end_episodes(self, rows: np.ndarray) -> None:
        """Counts the learner's episodes that ended on ``rows`` (its rows here) against an opponent (not
        its mirror games) and starts them all again."""
        counted = rows[rows >= self._mirror_rows]
        returns = self._returns[counted]
        self._totals += (len(counted), returns.sum(), self._lengths[counted].sum(), (returns > 0).sum())
        self._returns[rows] = 0
        self._lengths[rows] = 0

    def _end_games(self, envs: np.ndarray) -> None:
        """Reports the games that ended in ``envs`` (every row ended) and sets up each env's next game."""
        L, A = self.agents_per_env, self._rows_per_env
        per_row = self._game_returns[envs] / np.array([L, A - L], np.float64)
        for i, (mine, theirs) in zip(envs, per_row):
            self.league.record(int(self.assigned[i]), 1.0 if mine > theirs else (0.5 if mine == theirs else 0.0))
            self._assign(int(i))
        self._game_returns[envs] = 0
        if self.alternate_seats:
            self.seats[envs] = np.roll(self.seats[envs], -1, axis=1)
            self._index_rows()
        in_play = set(self.assigned.tolist())
        for uid in [u for u in self._opponents if u not in in_play]:
            del self._opponents[uid]  # a snapshot the league dropped is freed when its last game ends

    def _assign(self, i: int) -> None:
        uid = int(self.league.sample(self.rng))
        self.assigned[i] = uid
        if uid not in self._opponents:
            self._opponents[uid] = self.league.opponent(uid)

    def __repr__(self) -> str:
        return f"OpponentEnv({self.env!r}, learner_rows_per_env={self.agents_per_env}, mirror_envs={self.mirror_envs})"
