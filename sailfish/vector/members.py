"""One vector env whose rows are K members' own envs: a population's members each step their own
env streams (their own seed), and the trainer sees one batch of ``K * rows`` rows, member-major.

Native envs step in place over their block of the shared buffers (zero copy, one C call per
member); any other vector env (``sailfish.vector.make``'s Python backends) keeps its own buffers,
and its rows are copied in and out of the block each step.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from sailfish.emulation.adapters import Rows


class MemberEnvs(gym.vector.VectorEnv):
    """``K`` vector envs with the same spaces as one: member k owns rows ``[k * R, (k + 1) * R)``.

    Args:
        make_member: ``make_member(k, buffers)`` returns member k's vector env; ``buffers`` is the
            ``Rows`` block it may step in place (native envs take it as ``buffers=``), or ignore.
        num_members: K.
        rows_per_member: R, the rows each member's env has.
        observation_space, action_space, observation dtype: one row's (all members share them).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}

    def __init__(self, make_member: Callable[[int, Rows], Any], num_members: int, rows_per_member: int,
                 observation_space: gym.Space, action_space: gym.Space, action_dtype):
        K, R = int(num_members), int(rows_per_member)
        rows = K * R
        self.num_members, self.rows_per_member = K, R
        self.single_observation_space, self.single_action_space = observation_space, action_space
        self.observation_space = batch_space(observation_space, rows)
        self.action_space = batch_space(action_space, rows)
        act_shape = (rows,) if isinstance(action_space, gym.spaces.Discrete) else (rows, *action_space.shape)
        self.observations = np.zeros((rows, *observation_space.shape), observation_space.dtype)
        self.actions = np.zeros(act_shape, action_dtype)
        self.rewards = np.zeros(rows, np.float32)
        self.terminals = np.zeros(rows, np.bool_)
        self.truncations = np.zeros(rows, np.bool_)
        self.masks = np.ones(rows, np.bool_)
        self.action_masks = None  # made below when the members' envs have legal-action masks
        self.blocks = [Rows(*(b[k * R:(k + 1) * R] for b in (self.observations, self.actions, self.rewards,
                                                              self.terminals, self.truncations, self.masks)))
                       for k in range(K)]
        self.members = []
        try:
            for k in range(K):
                env = make_member(k, self.blocks[k])
                if env.observations.shape[0] != R:
                    raise ValueError(f"population: member {k}'s env has {env.observations.shape[0]} rows, "
                                     f"expected {R}")
                self.members.append(env)
        except BaseException:
            self.close()
            raise
        # Members whose buffers are not their block's (Python backends) are copied each step.
        self._copied = [env.observations.base is None or not np.shares_memory(env.observations, block.observations)
                        for env, block in zip(self.members, self.blocks)]
        first = self.members[0]
        # Legal-action masks (connect4's full columns): each member's, copied into its block of rows
        # after every reset and step (the members' envs write their own arrays).
        if getattr(first, "action_masks", None) is not None:
            self.action_masks = np.ones((rows, first.action_masks.shape[1]), np.bool_)
        self.name = getattr(first, "name", "members")
        self.agents_per_env = getattr(first, "agents_per_env", 1)
        self.num_rows = self.num_envs = rows
        self.num_instances = K * getattr(first, "num_instances", R)
        self.render_mode = "rgb_array"

    @classmethod
    def wrap(cls, envs: Sequence[Any]) -> "MemberEnvs":
        """Members that already exist (each with its own buffers, e.g. Python backends): copied per step."""
        first = envs[0]
        return cls(lambda k, _: envs[k], len(envs), first.observations.shape[0], first.single_observation_space,
                   first.single_action_space, first.actions.dtype)

    def _gather(self, k: int) -> None:
        if self.action_masks is not None:
            R = self.rows_per_member
            self.action_masks[k * R:(k + 1) * R] = self.members[k].action_masks
        if self._copied[k]:
            env, block = self.members[k], self.blocks[k]
            block.observations[:] = env.observations
            block.rewards[:] = env.rewards
            block.terminals[:] = env.terminals
            block.truncations[:] = env.truncations
            block.masks[:] = getattr(env, "masks", True)

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict | None = None):
        """Resets every member; ``seed``: one per member (a list), or an int that member k offsets by
        ``k * 1_000_003`` (members' streams stay apart)."""
        seeds = seed if isinstance(seed, (list, tuple)) else [None if seed is None else seed + 1_000_003 * k
                                                             for k in range(self.num_members)]
        for k, env in enumerate(self.members):
            env.reset(seed=seeds[k], options=options)
            self._gather(k)
        return self.observations, {}

    def step(self, actions: Any):
        """Steps every member's env with its block of ``actions``."""
        if actions is not self.actions:
            np.copyto(self.actions, np.asarray(actions), casting="unsafe")
        for k, env in enumerate(self.members):
            if self._copied[k]:
                env.step(self.blocks[k].actions)
                self._gather(k)
            else:
                env.step(env.actions)
                if self.action_masks is not None:
                    self._gather(k)  # only the masks: the rest was stepped in place
        return self.observations, self.rewards, self.terminals, self.truncations, {}

    def episode_stats(self) -> dict[str, float]:
        """Means over every member's finished episodes (``member_episode_stats`` keeps them apart)."""
        stats = [s for s in self.member_episode_stats() if s.get("episodes", 0) > 0]
        total = sum(s["episodes"] for s in stats)
        if not total:
            return {}
        keys = set().union(*stats) - {"episodes"}
        out = {key: sum(s[key] * s["episodes"] for s in stats if key in s) / total for key in keys}
        out["episodes"] = total
        return out

    def member_episode_stats(self) -> list[dict[str, float]]:
        """Each member's ``episode_stats()`` (drained: means of episodes finished since the last call)."""
        return [env.episode_stats() for env in self.members]

    def render(self, index: int = 0) -> np.ndarray:
        per = self.num_instances // self.num_members
        return self.members[index // per].render(index % per)

    def close(self, **kwargs: Any) -> None:
        for env in getattr(self, "members", []):
            env.close()
        self.members = []
