"""Vector environments: one protocol, several backends.

``NativeVecEnv`` steps C envs in one call over shared buffers (``sailfish.make``);
``Serial`` and ``Multiprocessing`` run Gymnasium / PettingZoo envs through
``sailfish.emulation``; ``GymnasiumVectorEnv`` wraps any ``gymnasium.vector.VectorEnv`` (``AtariVecEnv``:
ale-py's, with the standard Atari preprocessing); ``NormalizeReward`` scales any of them's rewards;
``make`` picks a backend. ``protocol`` documents what they share.
"""
from sailfish.vector.atari import AtariVecEnv
from sailfish.vector.factory import make
from sailfish.vector.gymnasium_vector import GymnasiumVectorEnv
from sailfish.vector.multiprocessing import Multiprocessing, WorkerError, WorkerTimeout
from sailfish.vector.native import NativeVecEnv
from sailfish.vector.protocol import AsyncVecEnv, Batch, VecEnv
from sailfish.vector.serial import Serial

__all__ = ["NativeVecEnv", "Serial", "Multiprocessing", "WorkerError", "WorkerTimeout", "GymnasiumVectorEnv",
           "AtariVecEnv", "VecEnv", "AsyncVecEnv", "Batch", "make"]
