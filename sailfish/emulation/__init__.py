"""Adapters: any Gymnasium env or PettingZoo env (``ParallelEnv`` or ``AECEnv``) as fixed rows of shared buffers,
and the native envs exposed the other way round, as a Gymnasium ``Env`` or a ``ParallelEnv``.

    adapter = sailfish.emulation.emulate(gymnasium.make("CartPole-v1"))   # rows, masks, stats
    env = sailfish.emulation.NativeGymEnv("cartpole")                       # a gymnasium.Env
    env = sailfish.emulation.NativeParallelEnv("cartpole")                  # needs pettingzoo
"""
from typing import Any

from sailfish.emulation.action_masks import ActionMaskFromInfo
from sailfish.emulation.adapters import (
    AECAdapter, Adapter, EpisodeStats, GymnasiumAdapter, PettingZooAdapter, Rows, emulate, env_name, is_aec_env,
    is_parallel_env, make_adapter, summarize,
)
from sailfish.emulation.agent_spaces import AgentSpaces
from sailfish.emulation.native_gym import NativeGymEnv

__all__ = [
    "ActionMaskFromInfo", "Adapter", "AECAdapter", "AgentSpaces", "EpisodeStats", "GymnasiumAdapter", "PettingZooAdapter", "Rows",
    "emulate", "env_name", "is_aec_env", "is_parallel_env", "make_adapter", "summarize", "NativeGymEnv",
    "NativeParallelEnv",
]


def __getattr__(name: str) -> Any:
    if name == "NativeParallelEnv":  # imported on demand: pettingzoo is an optional dependency
        from sailfish.emulation.native_parallel import NativeParallelEnv

        return NativeParallelEnv
    raise AttributeError(f"module 'sailfish.emulation' has no attribute {name!r}")
