"""Building the env a config describes."""
from __future__ import annotations

import sailfish
from sailfish.train.config import Config


def make_env(config: Config, num_envs: int | None = None, seed: int | None = None) -> sailfish.NativeVecEnv:
    """The native vector env of ``config`` (name, ``env_config``, ``num_envs``, ``num_threads``, seed).

    Stats are read by the trainer with ``episode_stats()``, so ``infos`` stay empty.
    Raises ``ValueError`` naming the key for a bad ``env_config``.
    """
    try:
        return sailfish.make(config.env, num_envs=config.num_envs if num_envs is None else num_envs,
                             seed=config.seed if seed is None else seed, num_threads=config.num_threads,
                             log_interval=0, **config.env_config)
    except ValueError as e:
        raise ValueError(f"env_config: {e}") from None
