"""The registry of native environments: name -> spec (spaces, agents, config parameters).

The C descriptor table in ``sailfish/_native/registry.c`` is the only registry; this module
reads it and builds Gymnasium spaces from it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from sailfish import _native


@dataclass(frozen=True)
class EnvSpec:
    """What one native env looks like under a config.

    Attributes:
        name: registry name (``sailfish.make(name)``).
        doc: one line on what the env is.
        observation_space: one agent's observation space (``Box``, float32 or uint8).
        action_space: one agent's action space (``Discrete``, ``MultiDiscrete`` or ``Box``).
        agents_per_env: rows each env owns in every buffer (1 for single-agent envs).
        config: the resolved config, every parameter with its value.
        params: each parameter's name, default, bounds, type and doc.
        render_shape: ``(H, W, 3)`` of ``render()``.
        state_fields: names accepted by ``get_state``/``set_state``.
        legal_flags: where the observation holds one legal-move flag per action (``obs[legal_flags] > 0``
            marks the legal ones; connect4: its last 7 values), or None when every action is always legal.
    """

    name: str
    doc: str
    observation_space: gym.spaces.Box
    action_space: gym.Space
    agents_per_env: int
    config: dict[str, Any]
    params: tuple[dict[str, Any], ...]
    render_shape: tuple[int, int, int]
    state_fields: tuple[str, ...]
    extra_stats: tuple[str, ...]
    lanes: int
    legal_flags: slice | None = None

    def __str__(self) -> str:
        return f"{self.name}: obs {_space_str(self.observation_space)}, actions {_space_str(self.action_space)}"


def _space_str(space: gym.Space) -> str:
    if isinstance(space, gym.spaces.Discrete):
        return f"Discrete({space.n})"
    if isinstance(space, gym.spaces.MultiDiscrete):
        return f"MultiDiscrete({space.nvec.tolist()})"
    return f"Box({space.dtype}, {space.shape})"


def spec(name: str, **config: Any) -> EnvSpec:
    """Returns the spec of env ``name`` under ``config``.

    Raises:
        ValueError: unknown env, unknown config key, or a value of the wrong type or range.
    """
    raw = _native.spec(name, config)
    dtype = np.dtype(raw["obs_dtype"])
    shape = tuple(raw["obs_shape"])
    low = np.asarray(raw["obs_low"], dtype=dtype).reshape(shape) if isinstance(raw["obs_low"], list) else raw["obs_low"]
    high = np.asarray(raw["obs_high"], dtype=dtype).reshape(shape) if isinstance(raw["obs_high"], list) else raw["obs_high"]
    observation_space = gym.spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
    kind = raw["act_kind"]
    if kind == "discrete":
        action_space: gym.Space = gym.spaces.Discrete(raw["act_n"][0])
    elif kind == "multidiscrete":
        action_space = gym.spaces.MultiDiscrete(np.asarray(raw["act_n"], dtype=np.int64))
    else:
        action_space = gym.spaces.Box(raw["act_low"], raw["act_high"], shape=(raw["act_dims"],), dtype=np.float32)
    offset, count = raw["legal_flags"]
    legal_flags = None
    if count:
        if kind != "discrete" or count != action_space.n or offset + count > int(np.prod(shape)):
            raise RuntimeError(f"{raw['name']}: its descriptor's legal-move flags ({count} at {offset}) must be one "
                               f"per action of a Discrete space, inside the observation")
        legal_flags = slice(offset, offset + count)
    return EnvSpec(
        name=raw["name"],
        doc=raw["doc"],
        observation_space=observation_space,
        action_space=action_space,
        agents_per_env=raw["agents_per_env"],
        config=raw["config"],
        params=tuple(raw["params"]),
        render_shape=tuple(raw["render_shape"]),
        state_fields=tuple(raw["state_fields"]),
        extra_stats=tuple(raw["extra_stats"]),
        lanes=raw["lanes"],
        legal_flags=legal_flags,
    )


def names() -> dict[str, EnvSpec]:
    """Every registered env, name -> spec under its default config (iterating gives the names)."""
    return {name: spec(name) for name in _native.names()}
