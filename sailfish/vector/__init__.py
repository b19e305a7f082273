"""Vector environments: one protocol, several backends.

``NativeVecEnv`` steps C envs in one call over shared buffers (``sailfish.make``).
"""
from sailfish.vector.native import NativeVecEnv

__all__ = ["NativeVecEnv"]
