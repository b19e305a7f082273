"""``sailfish.vector.make``: one entry point for every backend."""
from __future__ import annotations

import warnings
from typing import Any, Sequence

from sailfish.vector.protocol import EnvCreator, VecEnv

BACKENDS = ("native", "serial", "multiprocessing")


def _gymnasium_creator(env_id: str, kwargs: dict) -> EnvCreator:
    import gymnasium as gym

    env_id = env_id.removeprefix("gym:")
    gym.spec(env_id)  # fail here, naming the id, rather than in every worker

    def create() -> Any:
        return gym.make(env_id, **kwargs)

    return create


def make(env_creator: EnvCreator | Sequence[EnvCreator] | str, num_envs: int = 1, *, backend: str = "serial",
         num_workers: int | None = None, num_threads: int | None = None, batch_size: int | None = None,
         seed: int | None = 0, log_interval: int = 128, timeout: float | None = 60.0, **kwargs: Any) -> VecEnv:
    """Creates a vector env over any environment.

    Args:
        env_creator: a callable returning a Gymnasium env or a PettingZoo ``ParallelEnv`` (or a
            list, one per env); a Gymnasium id string (``"CartPole-v1"`` or
            ``"gym:CartPole-v1"``) for the Python backends; a native env name for
            ``backend="native"``.
        num_envs: env instances (a multi-agent env gives ``agents_per_env`` rows each).
        backend: ``"native"`` (``sailfish.make``, C envs), ``"serial"`` (this process) or
            ``"multiprocessing"`` (worker processes over shared memory).
        num_workers: processes for ``"multiprocessing"`` (default: as many as divide
            ``num_envs`` up to the CPU count).
        num_threads: threads of the ``"native"`` backend's pool (default 1).
        batch_size: envs per async ``recv()`` batch (Python backends; default all).
        seed: env ``i`` starts from ``seed + i`` (native: per-env generators from ``seed``).
        log_interval: steps between episode statistics in ``step``'s infos; 0 disables.
        timeout: seconds a ``"multiprocessing"`` worker may take for one step, reset or render
            before it is killed and ``WorkerTimeout`` is raised naming the env and the step; None
            waits forever. The in-process backends cannot interrupt an env and do not use it.
        **kwargs: native env config, ``gym.make`` keyword arguments for an id string, or
            ``start_method`` for ``"multiprocessing"``.

    Example:
        >>> env = sailfish.vector.make(lambda: gymnasium.make("CartPole-v1"), num_envs=8,
        ...                            backend="multiprocessing", num_workers=2, batch_size=4)
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: one of {BACKENDS}, got {backend!r}")
    if backend == "native":
        if not isinstance(env_creator, str):
            raise ValueError("backend='native' takes a native env name (sailfish.envs.names()), "
                             f"got {env_creator!r}")
        if batch_size not in (None, num_envs):
            raise ValueError("backend='native' steps every env in one call: batch_size must be None")
        from sailfish.vector.native import make as native_make

        if num_workers is not None:  # its old meaning for this backend
            warnings.warn("vector.make(backend='native', num_workers=...) is now num_threads=...; "
                          "num_workers stops working for the native backend in the next release",
                          FutureWarning, stacklevel=2)
            num_threads = num_threads or num_workers
        return native_make(env_creator, num_envs=num_envs, seed=0 if seed is None else seed,
                           num_threads=num_threads or 1, log_interval=log_interval, **kwargs)
    if num_threads is not None:
        raise ValueError(f"num_threads: only the native backend has a thread pool; backend={backend!r} "
                         "takes num_workers (processes)")
    if isinstance(env_creator, str):
        start_method = kwargs.pop("start_method", None)
        env_creator, kwargs = _gymnasium_creator(env_creator, kwargs), {"start_method": start_method}
    if backend == "serial":
        kwargs.pop("start_method", None)
        if num_workers not in (None, 1) or kwargs:
            raise ValueError(f"backend='serial' takes no num_workers or extra options, got {num_workers=}, {kwargs}")
        from sailfish.vector.serial import Serial

        return Serial(env_creator, num_envs, batch_size=batch_size, seed=seed, log_interval=log_interval)
    unknown = set(kwargs) - {"start_method"}
    if unknown:
        raise ValueError(f"backend='multiprocessing': unknown options {sorted(unknown)}")
    from sailfish.vector.multiprocessing import Multiprocessing

    return Multiprocessing(env_creator, num_envs, num_workers=num_workers, batch_size=batch_size, seed=seed,
                           log_interval=log_interval, timeout=timeout, **kwargs)
