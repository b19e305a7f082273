"""Any ``gymnasium.vector.VectorEnv`` as a Sailfish vector env: its steps copied into row buffers,
its autoreset mode turned into Sailfish's same-step autoreset, episode statistics kept here.

    env = GymnasiumVectorEnv(gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make("CartPole-v1")] * 8))
    Trainer(env, config=config).run()

Works over gymnasium's ``SyncVectorEnv`` / ``AsyncVectorEnv``, ale-py's ``AtariVectorEnv`` and any
other vector env with the Gymnasium >= 1.0 API, in each of the three autoreset modes
(``env.metadata["autoreset_mode"]``, NEXT_STEP when absent, Gymnasium's default):

- SAME_STEP: passed through (it is Sailfish's own semantics).
- NEXT_STEP: the env would spend the step after a done on a reset (reward 0, action ignored), a
  step that is no transition. Instead the adapter resets the finished envs at once with
  ``reset(options={"reset_mask": done})``, which also clears their pending autoreset, so the
  trainer never sees a reset step and every row's observation is already the next episode's.
- DISABLED: the same partial reset (the env would not reset on its own).

Episode statistics are accumulated here from the rewards passed through (not from
``info["episode"]``, which only exists under ``RecordEpisodeStatistics`` and differs per
library): per env the return and length since the episode began, drained as means by
``episode_stats()``; ``score`` is the return.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from sailfish.emulation import summarize


class GymnasiumVectorEnv(gym.vector.VectorEnv):
    """Wraps ``env`` (a ``gymnasium.vector.VectorEnv``) into Sailfish's buffers (``VecEnv`` protocol).

    Args:
        env: the vector env; its ``single_observation_space`` must be a ``Box`` (use
            ``sailfish.vector.make`` for nested spaces: it flattens them) and its
            ``single_action_space`` a ``Discrete``, ``MultiDiscrete`` or ``Box``; it must step
            every env per call (``batch_size == num_envs``).
        name: what runs are filed under (default: the env's spec id, else its class name).
        log_interval: steps between episode statistics in ``step``'s infos; 0 leaves infos empty.

    The adapter owns the env: ``close()`` closes it. The env's own infos of the latest step are
    kept in ``last_infos`` (``step`` returns Sailfish's, which hold only episode statistics).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}

    def __init__(self, env: gym.vector.VectorEnv, name: str | None = None, log_interval: int = 0):
        obs_space, act_space = env.single_observation_space, env.single_action_space
        if not isinstance(obs_space, gym.spaces.Box):
            raise ValueError(f"GymnasiumVectorEnv: observation space must be a Box, got {obs_space} "
                             "(sailfish.vector.make flattens nested spaces)")
        if not isinstance(act_space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.Box)):
            raise ValueError(f"GymnasiumVectorEnv: action space must be Discrete, MultiDiscrete or Box, got {act_space}")
        if getattr(env, "batch_size", env.num_envs) != env.num_envs:
            raise ValueError(f"GymnasiumVectorEnv: the env must step all {env.num_envs} envs per call, "
                             f"got batch_size={env.batch_size}")
        if log_interval < 0:
            raise ValueError(f"log_interval: must be >= 0, got {log_interval!r}")
        self.env = env
        self.autoreset_mode = AutoresetMode(env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))
        spec_id = getattr(getattr(env, "spec", None), "id", None)
        self.name = name or spec_id or type(getattr(env, "unwrapped", env)).__name__
        n = int(env.num_envs)
        self.num_envs = self.num_rows = self.num_instances = self.num_env_instances = n
        self.agents_per_env = 1
        self.single_observation_space, self.single_action_space = obs_space, act_space
        self.observation_space = batch_space(obs_space, n)
        self.action_space = batch_space(act_space, n)
        self.render_mode = getattr(env, "render_mode", None)
        self.log_interval = int(log_interval)
        self.observations = np.zeros((n, *obs_space.shape), obs_space.dtype)
        action_dtype = np.float32 if isinstance(act_space, gym.spaces.Box) else np.int64
        self.actions = np.zeros((n, *act_space.shape), action_dtype)
        self.rewards = np.zeros(n, np.float32)
        self.terminals = np.zeros(n, np.bool_)
        self.truncations = np.zeros(n, np.bool_)
        self.masks = np.ones(n, np.bool_)  # one agent per env, always present
        self.last_infos: dict[str, Any] = {}
        self._returns = np.zeros(n, np.float64)
        self._lengths = np.zeros(n, np.int64)
        self._totals = np.zeros(4, np.float64)  # [episodes, return, length, score], drained by episode_stats
        self._steps = 0
        self.closed = False

    # ------------------------------------------------------------------ the protocol
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Resets every env (env ``i`` gets ``seed + i`` when ``seed`` is given); returns the buffers.
        Episodes in progress are dropped from the statistics."""
        self._check_open()
        obs, infos = self.env.reset(seed=seed, options=options)
        self.observations[:] = obs
        self.rewards[:] = 0.0
        self.terminals[:] = False
        self.truncations[:] = False
        self.last_infos = infos
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._steps = 0
        return self.observations, {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Steps every env once with ``actions`` (shape ``action_space.shape``); returns the buffers
        ``(observations, rewards, terminals, truncations, infos)`` with same-step autoreset."""
        self._check_open()
        if actions is not self.actions:
            a = np.asarray(actions)
            if a.shape != self.actions.shape:
                raise ValueError(f"{self.name}: actions must have shape {self.actions.shape}, got {a.shape}")
            np.copyto(self.actions, a, casting="unsafe")
        obs, rewards, terminals, truncations, infos = self.env.step(self.actions)
        self.observations[:] = obs
        self.rewards[:] = rewards
        self.terminals[:] = terminals
        self.truncations[:] = truncations
        self.last_infos = infos
        done = self.terminals | self.truncations
        if self.autoreset_mode != AutoresetMode.SAME_STEP and done.any():
            # Reset the finished envs now: the trainer reads their next episode's first observation.
            reset_obs, _ = self.env.reset(options={"reset_mask": done.copy()})
            self.observations[done] = np.asarray(reset_obs)[done]
        stat_rewards, episode_ends = self._episode_signal(done)
        self._record(stat_rewards, episode_ends)
        self._steps += 1
        out: dict[str, Any] = {}
        if self.log_interval and self._steps % self.log_interval == 0:
            out = self.episode_stats()
        return self.observations, self.rewards, self.terminals, self.truncations, out

    def episode_stats(self) -> dict[str, float]:
        """Means of the episodes finished since the last call (``episodes``, ``episode_return``,
        ``episode_length``, ``score``); ``{}`` if none."""
        stats = summarize(self._totals)
        self._totals[:] = 0.0
        return stats

    def render(self, index: int = 0) -> np.ndarray:
        """Env ``index``'s frame, from the wrapped env's ``render()`` (create it with
        ``render_mode="rgb_array"``)."""
        self._check_open()
        if not 0 <= index < self.num_instances:
            raise IndexError(f"render: env index {index} out of range [0, {self.num_instances})")
        frames = self.env.render()
        if frames is None:
            raise RuntimeError(f"render: {self.name} returned no frames; create its envs with render_mode='rgb_array'")
        return np.asarray(frames[index])

    def close(self, **kwargs: Any) -> None:
        """Closes the wrapped env; safe to call twice."""
        if not self.closed:
            self.closed = True
            self.env.close()

    # ------------------------------------------------------------------ for subclasses
    def _episode_signal(self, done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the statistics count after a step: (rewards, rows whose episode ended). Here the
        rewards passed through and terminal | truncated; ``AtariVecEnv`` counts whole games."""
        return self.rewards, done

    def _record(self, rewards: np.ndarray, ends: np.ndarray) -> None:
        self._returns += rewards
        self._lengths += 1
        if ends.any():
            returns = self._returns[ends]
            self._totals += (returns.size, returns.sum(), self._lengths[ends].sum(), returns.sum())
            self._returns[ends] = 0.0
            self._lengths[ends] = 0

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"{self!r}: the env is closed")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, envs={self.num_instances})"
