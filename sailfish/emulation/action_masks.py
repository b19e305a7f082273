"""Legal-action masks: where an env says which actions are legal, and how a row's mask is written.

An adapter fills a row of the vector env's ``action_masks`` buffer (bool ``[rows, width]``, True =
legal; ``width`` is ``n`` for ``Discrete(n)``, ``sum(nvec)`` for ``MultiDiscrete``, one block per
component) from one of:

- a Dict observation's ``"action_mask"`` key (PettingZoo's classic games give
  ``{"observation", "action_mask"}``): split off the observation, so the policy sees the rest and
  the mask goes to the buffer;
- an ``info["action_mask"]`` of ``reset`` and ``step`` (Gymnasium's Taxi gives one), through
  ``ActionMaskFromInfo``, which moves it into such a Dict observation (an adapter cannot know
  that ``info`` carries one before the first reset, and the buffers are sized before it);
- the static masks of agents padded to a larger action space (``AgentSpaces.action_masks``).

A mask without a legal action (a waiting player's, in tic-tac-toe) is written as all legal: its
row makes no decision, and a distribution over no action at all has no log-probability.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

MASK_KEY = "action_mask"


def mask_width(action_space: gym.Space) -> int:
    """Columns of an action space's mask: ``n``, ``sum(nvec)``, or 0 (no discrete head to mask)."""
    if isinstance(action_space, gym.spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, gym.spaces.MultiDiscrete) and action_space.nvec.ndim == 1:
        return int(action_space.nvec.sum())
    return 0


def split_mask(observation_space: gym.Space, action_space: gym.Space, name: str) -> tuple[gym.Space, int]:
    """``(observation space without "action_mask", mask width)`` for a Dict observation holding a mask
    of the action space's width; ``(observation_space, 0)`` for any other.

    Raises:
        ValueError: the mask's size is not the action space's width (both named).
    """
    if not isinstance(observation_space, gym.spaces.Dict) or MASK_KEY not in observation_space.spaces:
        return observation_space, 0
    width = mask_width(action_space)
    mask_space = observation_space.spaces[MASK_KEY]
    size = int(np.prod(mask_space.shape)) if mask_space.shape is not None else -1
    if width == 0 or size != width:
        raise ValueError(f"{name}: observation['{MASK_KEY}'] is {mask_space}, but the action space {action_space} "
                         f"needs a mask of {width or 'no'} entries (n for Discrete, sum(nvec) for MultiDiscrete)")
    rest = {k: v for k, v in observation_space.spaces.items() if k != MASK_KEY}
    return gym.spaces.Dict(rest), width


def write_mask(row: np.ndarray, mask: Any) -> None:
    """Writes ``mask`` (any 0/1 array of ``row``'s size) into ``row``; no legal action = all legal."""
    np.copyto(row, np.asarray(mask).reshape(row.shape), casting="unsafe")
    if not row.any():
        row[:] = True


class ActionMaskFromInfo(gym.Wrapper):
    """A Gymnasium env whose ``reset`` / ``step`` give ``info["action_mask"]``, seen as one with a Dict
    observation ``{"observation": obs, "action_mask": mask}``, which the adapters split again
    (``sailfish.vector.make(lambda: ActionMaskFromInfo(gym.make("Taxi-v3")), ...)``).

    An ``info`` without the key gives all actions legal.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        width = mask_width(env.action_space)
        if not width:
            raise ValueError(f"ActionMaskFromInfo: {env.action_space} has no discrete actions to mask")
        self.observation_space = gym.spaces.Dict({"observation": env.observation_space,
                                                  MASK_KEY: gym.spaces.MultiBinary(width)})
        self._all_legal = np.ones(width, np.int8)

    def _observation(self, obs: Any, info: dict) -> dict:
        mask = info.get(MASK_KEY) if isinstance(info, dict) else None
        return {"observation": obs, MASK_KEY: self._all_legal if mask is None else np.asarray(mask).reshape(-1)}

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        return self._observation(obs, info), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._observation(obs, info), reward, terminated, truncated, info
