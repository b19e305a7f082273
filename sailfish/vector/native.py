"""The native vector env: N C envs stepped in one call over shared NumPy buffers."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from sailfish import _native
from sailfish.emulation.adapters import Rows
from sailfish.envs import spec as env_spec

_INT32 = np.iinfo(np.int32)


class NativeVecEnv(gym.vector.VectorEnv):
    """``num_envs`` instances of a native env, stepped by one C call, speaking Gymnasium's vector API.

    Buffers: ``observations``, ``actions``, ``rewards``, ``terminals``, ``truncations`` and
    ``masks`` are NumPy arrays allocated once whose first dimension is the batch of rows, one per
    agent (``masks`` is False where a multi-agent env's agent is absent, e.g. dead and waiting to
    respawn: its row is padding, not experience) (``num_envs * agents_per_env``; Gymnasium's ``num_envs`` counts rows).
    ``step`` and ``reset`` write them in place and return them, not copies: copy what you keep.
    Writing actions straight into ``env.actions`` and calling ``env.step(env.actions)`` skips
    the copy.

    Autoreset is same-step (``metadata["autoreset_mode"] == AutoresetMode.SAME_STEP``): when an
    episode ends on a step, that step's reward, terminal and truncation flags are the final
    transition's, and the observation is already the first of the next episode. The final
    observation is not kept.

    Episode statistics are summed in C. ``episode_stats()`` returns their means since the last
    call; every ``log_interval`` steps ``step`` also drains them into ``infos`` (keys
    ``episodes``, ``episode_return``, ``episode_length``, ``score`` and env-specific ones) when
    any episode finished. Use one or the other: ``log_interval=0`` leaves ``infos`` empty.

    Actions are checked on every step in C (out of range, or not finite for ``Box``) and raise
    ``ValueError`` before any env moves, so bad input never corrupts state.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}

    def __init__(
        self,
        name: str,
        num_envs: int = 1,
        seed: int = 0,
        num_threads: int = 1,
        log_interval: int = 128,
        buffers: Rows | None = None,
        **config: Any,
    ) -> None:
        """Creates ``num_envs`` envs of kind ``name`` (see ``sailfish.envs.names()``).

        Args:
            name: registry name of the env.
            num_envs: env instances (a multi-agent env contributes ``agents_per_env`` rows each).
            seed: seeds every env's generator from ``(seed, env index)``; the same seed gives
                the same observations whatever ``num_threads`` is.
            num_threads: threads stepping the envs inside C (1 = the calling thread only).
            log_interval: steps between episode statistics in ``infos``; 0 disables them.
            buffers: the six row buffers to step in place (``Rows``; e.g. a block of rows of a
                larger vector env's, as a population gives each member its own); default: new ones.
            **config: env parameters (``sailfish.envs.spec(name).params`` lists them).

        Raises:
            ValueError: unknown env or config key, a bad value, ``num_envs`` or ``num_threads`` < 1.
        """
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs: must be an integer >= 1, got {num_envs!r}")
        if not isinstance(num_threads, (int, np.integer)) or num_threads < 1:
            raise ValueError(f"num_threads: must be an integer >= 1, got {num_threads!r}")
        if log_interval < 0:
            raise ValueError(f"log_interval: must be >= 0, got {log_interval!r}")
        self.spec_ = env_spec(name, **config)
        self.name = name
        self.agents_per_env = self.spec_.agents_per_env
        rows = int(num_envs) * self.agents_per_env
        # num_rows: buffer rows (agents); num_instances: env instances. Gymnasium's num_envs is the
        # batch size, so it counts rows too (kept for Gymnasium tools; Sailfish's code says num_rows).
        self.num_rows = self.num_envs = rows
        self.num_instances = int(num_envs)
        self.single_observation_space = self.spec_.observation_space
        self.single_action_space = self.spec_.action_space
        self.observation_space = batch_space(self.single_observation_space, rows)
        self.action_space = batch_space(self.single_action_space, rows)
        self.render_mode = "rgb_array"
        self.log_interval = int(log_interval)

        space = self.single_action_space
        self._box = isinstance(space, gym.spaces.Box)
        act_shape = (rows,) if isinstance(space, gym.spaces.Discrete) else (rows, *space.shape)
        if buffers is None:
            buffers = Rows(np.zeros((rows, *self.single_observation_space.shape), self.single_observation_space.dtype),
                           np.zeros(act_shape, np.float32 if self._box else np.int32), np.zeros(rows, np.float32),
                           np.zeros(rows, np.bool_), np.zeros(rows, np.bool_), np.ones(rows, np.bool_))
        (self.observations, self.actions, self.rewards, self.terminals, self.truncations, self.masks) = buffers[:6]
        # Legal-action masks where the env marks its legal moves in the observation (connect4's full
        # columns), rewritten after every reset and step; None: every action is always legal.
        flags = self.spec_.legal_flags
        self._legal_flags = None if flags is None or self.observations.ndim != 2 else flags
        self.action_masks = None if self._legal_flags is None else np.ones((rows, flags.stop - flags.start), bool)
        self._c = _native.VecEnv(
            name, self.observations, self.actions, self.rewards, self.terminals, self.truncations,
            int(num_envs), seed=int(seed), num_threads=int(num_threads), config=config, masks=self.masks,
        )
        self.num_threads = self._c.num_threads
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Starts new episodes in every env; with ``seed``, reseeds every env's generator first."""
        self._native().reset(None if seed is None else int(seed))
        self._steps = 0
        self._write_action_masks()
        return self.observations, {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Steps every env once; returns ``(observations, rewards, terminals, truncations, infos)``.

        ``actions``: shape ``action_space.shape``; integers for discrete spaces, floats for Box.

        Raises:
            ValueError: actions of the wrong shape or kind, out of range, or NaN/inf for Box.
        """
        native = self._native()
        if actions is not self.actions:
            self._write_actions(actions)
        native.step()
        self._write_action_masks()
        infos: dict[str, Any] = {}
        self._steps += 1
        if self.log_interval and self._steps % self.log_interval == 0:
            infos = native.drain_stats()
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def _write_action_masks(self) -> None:
        if self._legal_flags is not None:
            np.greater(self.observations[:, self._legal_flags], 0, out=self.action_masks)

    def _write_actions(self, actions: Any) -> None:
        a = np.asarray(actions)
        if a.shape != self.actions.shape:
            raise ValueError(f"{self.name}: actions must have shape {self.actions.shape}, got {a.shape}")
        if self._box:
            if a.dtype.kind not in "fiu":
                raise ValueError(f"{self.name}: actions must be floats, got dtype {a.dtype}")
        else:
            if a.dtype.kind not in "iu":
                raise ValueError(f"{self.name}: actions must be integers, got dtype {a.dtype}")
            # A wider integer could wrap into range when narrowed to int32: check it first.
            if a.dtype.itemsize > 4 or a.dtype == np.uint32:
                if a.size and (a.min() < _INT32.min or a.max() > _INT32.max):
                    raise ValueError(f"{self.name}: action out of int32 range")
        np.copyto(self.actions, a, casting="unsafe")

    def episode_stats(self) -> dict[str, float]:
        """Means of the episodes finished since the last call (``{}`` if none): ``episodes``
        (a count), ``episode_return``, ``episode_length``, ``score`` and env-specific keys."""
        return self._native().drain_stats()

    def render(self, index: int = 0) -> np.ndarray:
        """Draws env ``index`` into a new ``(H, W, 3)`` uint8 array (headless)."""
        frame = np.empty(self.spec_.render_shape, np.uint8)
        self._native().render(int(index), frame)
        return frame

    def get_state(self, index: int) -> dict[str, float]:
        """The named state of env ``index`` (fields: ``spec_.state_fields``)."""
        return self._native().get_state(int(index))

    def set_state(self, index: int, **fields: float) -> None:
        """Overwrites named state fields of env ``index`` and its observation (for tests and tools)."""
        self._native().set_state(int(index), fields)
        self._write_action_masks()

    def close(self, **kwargs: Any) -> None:
        """Stops the env threads and frees the envs; the buffers stay valid NumPy arrays."""
        self._c = None
        self.closed = True

    def _native(self) -> Any:
        if self._c is None:
            raise RuntimeError(f"{self.name}: the env is closed")
        return self._c

    def __repr__(self) -> str:
        return f"NativeVecEnv({self.name!r}, rows={self.num_envs}, threads={self.num_threads})"


def make(name: str, num_envs: int = 1, seed: int = 0, num_threads: int = 1, log_interval: int = 128,
         **config: Any) -> NativeVecEnv:
    """Creates a vector of ``num_envs`` native envs; see ``NativeVecEnv`` for the semantics.

    Example:
        >>> env = sailfish.make("cartpole", num_envs=1024, seed=0, max_steps=200)
        >>> obs, info = env.reset()
    """
    return NativeVecEnv(name, num_envs=num_envs, seed=seed, num_threads=num_threads, log_interval=log_interval,
                        **config)
