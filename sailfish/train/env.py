"""Building the env a config describes: a native env by name, or any Python env through emulation.

``config.env`` is one of:
- a native env name (``sailfish envs``): ``sailfish.make``, stepped in C;
- ``gym:<id>`` or a bare registered Gymnasium id (``gym:CartPole-v1``, ``CartPole-v1``): a
  Gymnasium env, through ``config.backend`` (a native name wins over a Gymnasium id);
- ``atari:<game>`` (``atari:Pong``, ``atari:Breakout``): ale-py's ``AtariVectorEnv`` with the standard
  preprocessing (``sailfish.vector.AtariVecEnv``; the ``[atari]`` extra), ``config.num_threads`` C++ threads;
- ``<module>:<callable>``: an import path to a factory returning a Gymnasium env or a PettingZoo
  ``ParallelEnv`` (``mypkg.envs:make_world``), through ``config.backend``.

With ``config.reward_norm`` the env is wrapped in ``sailfish.vector.NormalizeReward``.
"""
from __future__ import annotations

import importlib
import os
from typing import Any, Callable

import gymnasium
import numpy as np

import sailfish
from sailfish.train.config import Config


def is_python_env(name: str) -> bool:
    """True for ``gym:<id>``, Gymnasium ids and ``module:callable`` names (emulated), False for native
    names and ``atari:<game>``."""
    if name.startswith("atari:"):
        return False
    return ":" in name or (name not in sailfish.envs.names() and _gymnasium_id(name))


def _gymnasium_id(name: str) -> bool:
    import gymnasium

    try:
        gymnasium.spec(name)
        return True
    except Exception:  # gymnasium raises several error types for unknown or malformed ids
        return False


def gymnasium_id(name: str) -> str | None:
    """The Gymnasium id a name means (``gym:<id>``, or a bare id that is not a native name), else None."""
    if name.startswith("gym:"):
        return name[4:]
    if ":" not in name and name not in sailfish.envs.names() and _gymnasium_id(name):
        return name
    return None


def resolve_factory(name: str) -> Callable[[], Any]:
    """The env creator for a ``module:callable`` name; ``ValueError`` naming what is missing."""
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"env: cannot import module {module_name!r} ({e})") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ValueError(f"env: {module_name!r} has no callable {attr!r}")
    return factory


def _require_simulator(gym_id: str) -> None:
    """A MuJoCo task without mujoco installed: one line naming the extra (``MissingExtra``)."""
    import gymnasium

    entry_point = str(gymnasium.spec(gym_id).entry_point)
    if entry_point.startswith("gymnasium.envs.mujoco"):
        from sailfish._extras import require

        require("mujoco", f"gym:{gym_id}")


def check_env_name(name: str) -> None:
    """Raises ``ValueError`` if ``name`` is neither a native env, a Gymnasium id, ``atari:<game>`` nor
    a factory path (``MissingExtra`` when the package it needs is not installed)."""
    if name.startswith("atari:"):
        from sailfish.vector.atari import rom_name

        rom_name(name[6:])
    elif name.startswith("gym:"):
        if not _gymnasium_id(name[4:]):
            raise ValueError(f"env: unknown Gymnasium id {name[4:]!r}")
        _require_simulator(name[4:])
    elif ":" in name:
        resolve_factory(name)
    elif name not in sailfish.envs.names() and not _gymnasium_id(name):
        raise ValueError(f"env: unknown environment {name!r} (native: {', '.join(sorted(sailfish.envs.names()))}; "
                         "or gym:<id>, or module:factory)")


def make_env(config: Config, num_envs: int | None = None, seed: int | None = None):
    """The vector env of ``config`` (name, ``env_config``, ``num_envs``, threads or workers, seed).

    Stats are read by the trainer with ``episode_stats()``, so ``infos`` stay empty.
    Raises ``ValueError`` naming the key for a bad name or ``env_config``.
    """
    num_envs = config.num_envs if num_envs is None else num_envs
    seed = config.seed if seed is None else seed
    check_env_name(config.env)
    if config.env_batch_size and config.env_batch_size != num_envs and (config.reward_norm
                                                                      or not is_python_env(config.env)):
        raise ValueError("env_batch_size: async batches are for Python envs (gym:<id>, module:factory) "
                         "without reward_norm; set env_batch_size = 0")
    env = _make(config, num_envs, seed)
    if config.reward_norm:
        from sailfish.vector.normalize import NormalizeReward

        env = NormalizeReward(env, gamma=config.gamma)
    return env


def _make(config: Config, num_envs: int, seed: int):
    try:
        if config.env.startswith("atari:"):
            from sailfish.vector.atari import AtariVecEnv

            return AtariVecEnv(config.env[6:], num_envs, seed=seed, num_threads=config.num_threads,
                               **config.env_config)
        if not is_python_env(config.env):
            return sailfish.make(config.env, num_envs=num_envs, seed=seed, num_threads=config.num_threads,
                                 log_interval=0, **config.env_config)
        gym_id = gymnasium_id(config.env)
        creator: Any = f"gym:{gym_id}" if gym_id else resolve_factory(config.env)
        if config.env_config and not isinstance(creator, str):
            factory, kwargs = creator, dict(config.env_config)
            creator = lambda: factory(**kwargs)  # noqa: E731
        extra = dict(config.env_config) if isinstance(creator, str) else {}
        return sailfish.vector.make(creator, num_envs=num_envs, backend=config.backend,
                                    num_workers=config.num_workers or None, seed=seed, log_interval=0,
                                    batch_size=config.env_batch_size or None,
                                    timeout=config.worker_timeout or None, **extra)
    except (ValueError, TypeError) as e:
        raise ValueError(f"env_config: {e}") from None


def env_spaces(name: str, env_config: dict | None = None):
    """``(observation_space, action_space)`` of one agent of env ``name``, without building a vector
    env (a native env's spec; a Gymnasium env made once and closed); None for a factory path, whose
    spaces are only known by calling it, and for an env that cannot be made here (``make_env`` then
    says why)."""
    env_config = dict(env_config or {})
    if name.startswith("atari:"):
        return None
    gym_id = gymnasium_id(name)
    if gym_id is not None:
        import gymnasium

        try:
            env = gymnasium.make(gym_id, **env_config)
        except Exception:  # a missing dependency or bad env_config: make_env reports it with the fix
            return None
        try:
            return env.observation_space, env.action_space
        finally:
            env.close()
    if ":" in name or name not in sailfish.envs.names():
        return None
    spec = sailfish.envs.spec(name, **env_config)
    return spec.observation_space, spec.action_space


def env_label(env, config: Config) -> str:
    """The name a run is filed under: the env's own (``env.name``, a spec id), else ``config.env``."""
    name = getattr(env, "name", None) or getattr(getattr(env, "spec", None), "id", None) or config.env or "env"
    return str(name).replace(os.sep, "_")


def make_member_env(configs: list[Config]):
    """One vector env for a population: member k steps its own ``configs[k].num_envs`` envs seeded
    from ``configs[k].seed`` (so its streams are a solo run's with that seed), on its own block of rows.

    Native envs step in place over their block; Python envs through their backend, copied per step.
    With ``reward_norm`` each member's env is wrapped in its own ``NormalizeReward``.
    """
    from sailfish.vector.members import MemberEnvs

    config = configs[0]
    check_env_name(config.env)
    if is_python_env(config.env):
        return MemberEnvs.wrap([make_env(c) for c in configs])
    try:
        spec = sailfish.envs.spec(config.env, **config.env_config)
    except ValueError as e:
        raise ValueError(f"env_config: {e}") from None
    box = isinstance(spec.action_space, gymnasium.spaces.Box)

    def member(k: int, buffers):
        env = sailfish.make(config.env, num_envs=config.num_envs, seed=configs[k].seed,
                            num_threads=config.num_threads, log_interval=0, buffers=buffers, **config.env_config)
        if config.reward_norm:  # each member's own statistics, of its own gamma (as make_env's)
            from sailfish.vector.normalize import NormalizeReward

            env = NormalizeReward(env, gamma=configs[k].gamma)
        return env

    return MemberEnvs(member, len(configs), config.num_envs * spec.agents_per_env, spec.observation_space,
                      spec.action_space, np.float32 if box else np.int32)
