"""Sailfish: reinforcement learning at millions of steps per second.

    import sailfish
    env = sailfish.make("cartpole", num_envs=4096, seed=0)
    obs, info = env.reset()
    obs, rewards, terminals, truncations, infos = env.step(actions)
"""
from sailfish import envs, vector
from sailfish.vector.native import NativeVecEnv, make

__version__ = "0.1.0"
__all__ = ["make", "NativeVecEnv", "envs", "vector", "__version__"]
