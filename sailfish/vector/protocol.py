"""The one vector-env protocol every backend speaks, and the batching they share.

``VecEnv`` is Gymnasium's vector API plus zero-copy buffers:

- ``num_rows`` counts rows (env instances × ``agents_per_env``), ``num_instances`` env
  instances; Gymnasium's ``num_envs`` is the batch size, so it equals ``num_rows``;
  ``single_observation_space`` / ``single_action_space`` describe one row.
- ``observations``, ``actions``, ``rewards`` (float32), ``terminals``, ``truncations`` and
  ``masks`` (bool) are NumPy arrays allocated once with one row per agent; ``reset`` and
  ``step`` write them in place and return them (not copies). ``env.step(env.actions)`` skips
  the action copy. ``masks[i]`` is False for padding rows (agents absent or dead): it describes
  the observation in the row, so the step an agent dies on gives its reward and terminal with
  mask False, and a learner keeps sample t when the mask read with observation t is True (the
  rewards and episode ends of padding steps belong to the row's previous live step: an opponent's
  winning move in a turn-based game). It is always True for single-agent envs.
- ``action_masks`` is None, or (an env whose agents say which actions are legal:
  ``sailfish.emulation.action_masks``) bool ``[rows, width]``, True = legal, ``width`` = ``n``
  of a ``Discrete`` head or ``sum(nvec)`` of a ``MultiDiscrete`` one; written with the observations.
- Autoreset is same-step: on the step an episode ends, reward and flags are the final
  transition's and the observation is the next episode's first.
- ``episode_stats()`` drains the means of episodes finished since the last call
  (``episodes``, ``episode_return``, ``episode_length``, ``score``); ``step`` also puts them in
  ``infos`` every ``log_interval`` steps.
- ``render(i)`` draws env ``i``; ``close()`` frees everything (idempotent).

``AsyncVecEnv`` adds EnvPool-style batches: ``async_reset()``, then repeatedly ``recv()`` a
``Batch`` (a contiguous block of rows, groups in round-robin order, so runs are reproducible)
and ``send(actions)`` for exactly those rows, while the other groups keep stepping.
"""
from __future__ import annotations

import abc
from collections import deque
from typing import Any, Callable, NamedTuple, Protocol, Sequence, runtime_checkable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from sailfish.emulation import Rows, summarize
from sailfish.spaces import ActionLayout, ObservationLayout

_INT32 = np.iinfo(np.int32)


class Batch(NamedTuple):
    """What ``recv()`` returns: views of one contiguous block of rows of the env's buffers.

    ``rows`` indexes the full buffers (``env.actions[batch.rows]`` is where this batch's actions
    go); ``env_ids`` are the env instances the block holds. Views stay valid until the batch is
    sent back: copy what you keep. ``infos`` is empty: episode statistics come from
    ``episode_stats()``.
    """

    observations: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    truncations: np.ndarray
    masks: np.ndarray
    infos: dict
    rows: slice
    env_ids: np.ndarray
    action_masks: np.ndarray | None = None


@runtime_checkable
class VecEnv(Protocol):
    """The synchronous protocol (see the module docstring); ``NativeVecEnv`` speaks it too,
    except ``masks`` (a native env's rows are always live)."""

    num_envs: int  # Gymnasium's name for the batch size: equals num_rows
    num_rows: int
    num_instances: int
    agents_per_env: int
    single_observation_space: gym.Space
    single_action_space: gym.Space
    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    truncations: np.ndarray

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]: ...
    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]: ...
    def episode_stats(self) -> dict[str, float]: ...
    def render(self, index: int = 0) -> np.ndarray: ...
    def close(self, **kwargs: Any) -> None: ...


@runtime_checkable
class AsyncVecEnv(VecEnv, Protocol):
    """``VecEnv`` plus batches: ``batch_size`` env instances per ``recv()``."""

    batch_size: int
    masks: np.ndarray

    def async_reset(self, seed: int | None = None, options: dict | None = None) -> None: ...
    def recv(self) -> Batch: ...
    def send(self, actions: Any) -> None: ...


# The row buffers of a whole vector env (views into one allocation for shared memory): the
# same fields as one env's ``Rows``, of which they are the concatenation.
Buffers = Rows


def buffer_specs(rows: int, obs: ObservationLayout, act: ActionLayout,
                 mask_width: int = 0) -> list[tuple[str, np.dtype, tuple]]:
    """(name, dtype, shape) of each buffer of ``Buffers``, in field order (``action_masks`` only
    when ``mask_width`` > 0)."""
    specs = [("observations", obs.dtype, (rows, *obs.shape)), ("actions", act.dtype, (rows, *act.shape)),
             ("rewards", np.dtype(np.float32), (rows,)), ("terminals", np.dtype(np.bool_), (rows,)),
             ("truncations", np.dtype(np.bool_), (rows,)), ("masks", np.dtype(np.bool_), (rows,))]
    if mask_width:
        specs.append(("action_masks", np.dtype(np.bool_), (rows, int(mask_width))))
    return specs


def resolve_seeds(seed: int | Sequence[int | None] | None, count: int) -> list[int | None]:
    """One seed per env instance: ``seed + i``, a list as given, or all None."""
    if seed is None:
        return [None] * count
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(count)]
    seeds = list(seed)
    if len(seeds) != count:
        raise ValueError(f"seed: a list needs one seed per env ({count}), got {len(seeds)}")
    return seeds


class GroupedVecEnv(gym.vector.VectorEnv, abc.ABC):
    """Base of the Python backends: buffers, the sync API, and round-robin async batches.

    A backend runs *units* (an env for ``Serial``, a worker process for ``Multiprocessing``)
    each owning ``envs_per_unit`` consecutive env instances; a batch is a *group* of
    consecutive units. Subclasses implement ``_launch`` (start a command on units), ``_wait``
    (block until they finish, raising on failure), ``_unit_totals``, ``_render`` and
    ``_shutdown``.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}

    def _setup(self, *, name: str, obs_layout: ObservationLayout, act_layout: ActionLayout, agents_per_env: int,
               num_instances: int, num_units: int, batch_size: int | None, seed: int | None, log_interval: int,
               buffers: Buffers) -> None:
        envs_per_unit = num_instances // num_units
        batch_size = num_instances if batch_size is None else int(batch_size)
        if batch_size < 1 or num_instances % batch_size or batch_size % envs_per_unit:
            raise ValueError(f"batch_size: must divide num_envs ({num_instances}) and be a multiple of the envs "
                             f"per worker ({envs_per_unit}), got {batch_size}")
        if log_interval < 0:
            raise ValueError(f"log_interval: must be >= 0, got {log_interval!r}")
        self.name = name
        self.observation_layout, self.action_layout = obs_layout, act_layout
        self.agents_per_env = agents_per_env
        self.num_instances = self.num_env_instances = num_instances
        self.batch_size = batch_size
        # num_rows: buffer rows (agents); Gymnasium's num_envs is the batch size, so it counts rows too.
        self.num_rows = self.num_envs = rows = num_instances * agents_per_env
        self.single_observation_space = obs_layout.flat_space
        self.single_action_space = act_layout.flat_space
        self.observation_space = batch_space(self.single_observation_space, rows)
        self.action_space = batch_space(self.single_action_space, rows)
        self.render_mode = "rgb_array"
        self.log_interval = int(log_interval)
        (self.observations, self.actions, self.rewards, self.terminals, self.truncations,
         self.masks, self.action_masks) = buffers
        self._envs_per_unit = envs_per_unit
        units_per_group = batch_size // envs_per_unit
        self._groups = [range(g * units_per_group, (g + 1) * units_per_group)
                        for g in range(num_units // units_per_group)]
        rows_per_group = batch_size * agents_per_env
        self._group_rows = [slice(g * rows_per_group, (g + 1) * rows_per_group) for g in range(len(self._groups))]
        self._all_units = range(num_units)
        self._in_flight: deque[int] = deque()
        self._held: int | None = None
        self._next_seed = seed
        self._drained = np.zeros((num_units, 4), np.float64)
        self._steps = 0
        if self.action_layout.discrete:
            nvec = np.asarray(getattr(self.single_action_space, "nvec", getattr(self.single_action_space, "n", 0)))
            self._action_high = nvec.astype(np.int64)

    # -- what a backend implements ---------------------------------------------------------------
    @abc.abstractmethod
    def _launch(self, units: range, command: str, seeds: list | None = None) -> None:
        """Starts ``command`` (``"step"`` or ``"reset"``) on ``units``."""

    @abc.abstractmethod
    def _wait(self, units: range) -> None:
        """Blocks until ``units`` finished their command; raises if one failed."""

    @abc.abstractmethod
    def _unit_totals(self, unit: int) -> np.ndarray:
        """Cumulative ``[episodes, return, length, score]`` of ``unit``'s envs."""

    def _units_totals(self, units: range) -> np.ndarray:
        """``_unit_totals`` of each of ``units``, ``[len(units), 4]`` (a backend may read them in one pass)."""
        return np.stack([self._unit_totals(unit) for unit in units])

    @abc.abstractmethod
    def _render(self, index: int) -> np.ndarray: ...

    @abc.abstractmethod
    def _shutdown(self) -> None: ...

    # -- the sync API -----------------------------------------------------------------------------
    def reset(self, *, seed: int | Sequence[int] | None = None,
              options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Starts new episodes in every env. ``seed``: env ``i`` gets ``seed + i`` (or a list,
        one per env); None uses the constructor's seed on the first reset, then continues each
        env's generator. Batches in flight are waited for and dropped."""
        self.async_reset(seed=seed, options=options)
        self._wait(self._all_units)
        self._in_flight.clear()
        self._steps = 0
        return self.observations, {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Steps every env once; returns the buffers ``(observations, rewards, terminals,
        truncations, infos)``. ``actions``: shape ``action_space.shape``.

        Raises:
            ValueError: wrong shape or kind, discrete actions out of range, non-finite floats.
            RuntimeError: async batches in flight, or the env is closed.
        """
        self._check_open()
        if self._in_flight or self._held is not None:
            raise RuntimeError(f"{self!r}: step() while async batches are in flight; use recv()/send(), "
                               "or reset() to return to synchronous stepping")
        if actions is not self.actions:
            self._write_actions(actions, slice(None))
        self._launch(self._all_units, "step")
        self._wait(self._all_units)
        self._steps += 1
        infos: dict[str, Any] = {}
        if self.log_interval and self._steps % self.log_interval == 0:
            infos = self.episode_stats()
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    # -- the async API ----------------------------------------------------------------------------
    def async_reset(self, seed: int | Sequence[int] | None = None, options: dict | None = None) -> None:
        """Starts a reset of every env; ``recv()`` then returns the groups in order."""
        self._check_open()
        if self._in_flight:
            self._wait(self._all_units)  # finish what is running before resetting
            self._in_flight.clear()
        self._held = None
        if seed is None:
            seed, self._next_seed = self._next_seed, None
        else:
            self._next_seed = None
        self._launch(self._all_units, "reset", resolve_seeds(seed, self.num_env_instances))
        self._in_flight.extend(range(len(self._groups)))

    def recv(self) -> Batch:
        """Waits for the oldest group in flight and returns its rows (a ``Batch`` of views)."""
        self._check_open()
        if self._held is not None:
            raise RuntimeError(f"{self!r}: recv() twice; send() actions for the batch received first")
        if not self._in_flight:
            raise RuntimeError(f"{self!r}: recv() with nothing in flight; call async_reset() first")
        group = self._in_flight.popleft()
        self._wait(self._groups[group])
        self._held = group
        rows = self._group_rows[group]
        envs = self._groups[group]
        env_ids = np.arange(envs.start * self._envs_per_unit, envs.stop * self._envs_per_unit)
        return Batch(self.observations[rows], self.rewards[rows], self.terminals[rows], self.truncations[rows],
                     self.masks[rows], {}, rows, env_ids,
                     None if self.action_masks is None else self.action_masks[rows])

    def send(self, actions: Any) -> None:
        """Steps the group last received with ``actions`` (its rows only; ``env.actions[batch.rows]``
        itself skips the copy) and returns at once."""
        self._check_open()
        if self._held is None:
            raise RuntimeError(f"{self!r}: send() without a batch; call recv() first")
        group, self._held = self._held, None
        rows = self._group_rows[group]
        target = self.actions[rows]
        if not (isinstance(actions, np.ndarray) and actions.shape == target.shape
                and actions.__array_interface__["data"][0] == target.__array_interface__["data"][0]):
            try:
                self._write_actions(actions, rows)
            except ValueError:
                self._held = group
                raise
        self._launch(self._groups[group], "step")
        self._in_flight.append(group)

    # -- the rest of the protocol -----------------------------------------------------------------
    def episode_stats(self) -> dict[str, float]:
        """Means of the episodes finished since the last call (``{}`` if none). Units stepping
        in an async batch are counted at a later call."""
        if self._held is not None and len(self._in_flight) == len(self._groups) - 1:
            units = self._groups[self._held]  # async batches: the group held is the idle one
            idle = slice(units.start, units.stop)
            current = self._units_totals(units)
        else:
            idle = np.ones(len(self._all_units), bool)
            for g in self._in_flight:  # a busy unit's totals may be mid-write: read, never used
                idle[self._groups[g].start:self._groups[g].stop] = False
            current = self._units_totals(self._all_units)[idle]
        totals = (current - self._drained[idle]).sum(0)
        self._drained[idle] = current
        return summarize(totals)

    def render(self, index: int = 0) -> np.ndarray:
        """Env instance ``index``'s ``render()`` (its env must be created with a render mode)."""
        self._check_open()
        if not 0 <= index < self.num_env_instances:
            raise IndexError(f"render: env index {index} out of range [0, {self.num_env_instances})")
        unit = index // self._envs_per_unit
        if any(unit in self._groups[g] for g in self._in_flight):
            raise RuntimeError(f"render: env {index} is stepping in an async batch; recv() it first")
        return self._render(index)

    def close(self, **kwargs: Any) -> None:
        """Stops the envs and frees their resources; safe to call twice."""
        if not getattr(self, "closed", True):
            self.closed = True
            self._shutdown()

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"{self!r}: the env is closed")

    def _write_actions(self, actions: Any, rows: slice) -> None:
        target = self.actions[rows]
        a = np.asarray(actions)
        if a.shape != target.shape:
            raise ValueError(f"{self.name}: actions must have shape {target.shape}, got {a.shape}")
        if self.action_layout.discrete:
            if a.dtype.kind not in "iu":
                raise ValueError(f"{self.name}: actions must be integers, got dtype {a.dtype}")
            if a.size and (a.min() < 0 or np.any(a >= self._action_high)):
                raise ValueError(f"{self.name}: action out of range of {self.single_action_space}")
        else:
            if a.dtype.kind not in "fiu":
                raise ValueError(f"{self.name}: actions must be floats, got dtype {a.dtype}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{self.name}: actions must be finite")
        np.copyto(target, a, casting="unsafe")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, envs={getattr(self, 'num_env_instances', '?')})"


EnvCreator = Callable[[], Any]


def creators_for(env_creator: EnvCreator | Sequence[EnvCreator], num_envs: int) -> list[EnvCreator]:
    """One creator per env: ``env_creator`` repeated, or a list of ``num_envs`` creators."""
    if callable(env_creator):
        return [env_creator] * num_envs
    creators = list(env_creator)
    if len(creators) != num_envs:
        raise ValueError(f"env_creator: a list needs one creator per env ({num_envs}), got {len(creators)}")
    return creators
