"""One native env as a ``gymnasium.Env`` (for Gymnasium's tools: ``check_env``, wrappers, eval)."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class OneNativeEnv:
    """What both single-instance faces share: a one-env ``NativeVecEnv``, ``render`` and ``close``."""

    name: str
    render_mode: str | None

    def _open(self, name: str, render_mode: str | None, seed: int, config: dict[str, Any]) -> None:
        from sailfish.vector.native import NativeVecEnv  # the vector layer sits below emulation

        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: must be None or 'rgb_array', got {render_mode!r}")
        self._vec = NativeVecEnv(name, num_envs=1, seed=seed, log_interval=0, **config)
        self.name = name
        self.render_mode = render_mode

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._vec.render(0)
        return None

    def close(self) -> None:
        if not self._vec.closed:
            self._vec.close()


class NativeGymEnv(OneNativeEnv, gym.Env):
    """A single-agent native env behind Gymnasium's single-env API.

    It runs a one-env ``NativeVecEnv`` and copies what it returns. Two differences from an env
    written for Gymnasium follow from the native same-step autoreset:

    - The observation returned with ``terminated`` or ``truncated`` is the first observation of
      the next episode (the native env overwrites the final one in C and does not keep it);
      ``info["next_episode_observation"]`` is True on that step to say so.
    - After that step the env must be ``reset()`` before stepping again (``RuntimeError``
      otherwise), as Gymnasium requires; ``reset()`` starts a fresh episode in C.

    ``reset(seed=s)`` reseeds the native generator, so equal seeds give equal episodes;
    ``reset()`` without a seed continues the generator.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, name: str, render_mode: str | None = None, seed: int = 0, **config: Any) -> None:
        """Args:
            name: a native env with one agent per env (``sailfish.envs.names()``).
            render_mode: None or ``"rgb_array"``.
            seed: seeds the native generator until ``reset(seed=...)`` reseeds it.
            **config: env parameters.

        Raises:
            ValueError: unknown env or config, a multi-agent env (use ``NativeParallelEnv``), or
                an unsupported ``render_mode``.
        """
        self._open(name, render_mode, seed, config)
        if self._vec.agents_per_env != 1:
            self._vec.close()
            raise ValueError(f"{name} has {self._vec.agents_per_env} agents per env: use NativeParallelEnv")
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._vec.reset(seed=seed)
        self._needs_reset = False
        return self._vec.observations[0].copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._needs_reset:
            raise RuntimeError(f"{self.name}: call reset() before step() (first step, or after the episode ended)")
        vec = self._vec
        vec.actions[0] = action
        vec.step(vec.actions)
        terminated, truncated = bool(vec.terminals[0]), bool(vec.truncations[0])
        info: dict[str, Any] = {}
        if terminated or truncated:
            self._needs_reset = True
            info["next_episode_observation"] = True
        return vec.observations[0].copy(), float(vec.rewards[0]), terminated, truncated, info
