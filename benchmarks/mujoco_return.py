"""MuJoCo (named so as not to shadow the ``mujoco`` package when run as a script): each task's mean return after a fixed wallclock, Sailfish PPO (the task's
``configs/gym_<task>.toml``) and Stable-Baselines3 PPO (its defaults, which are the MuJoCo settings
of the PPO paper: 2048 steps, 64-sample minibatches, 10 epochs, lr 3e-4) given the same seconds on
the same machine, one after the other in the same run, one core each (torch threads 1).

"Mean return" is the mean over the latest >= 8 finished training episodes (SB3: its
``ep_info_buffer``, the latest <= 100; both undiscounted, unnormalised rewards) when time is up.

    python benchmarks/mujoco_return.py                       # Hopper-v5 and Walker2d-v5, 5 minutes each side
    python benchmarks/mujoco_return.py --minutes 0.2         # smoke test
    python benchmarks/mujoco_return.py --tasks Hopper-v5 --seed 1

Needs the [bench] extra (stable-baselines3, gymnasium[mujoco]).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def sailfish_return(task: str, seconds: float, seed: int) -> tuple[float, int]:
    from sailfish.train import Config, Trainer, make_env

    config = Config.load(f"gym:{task}", {"runs_dir": "", "seed": seed})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.start()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds and trainer.global_step < config.total_steps:
        trainer.iteration()
    env.close()
    mean = trainer.episodes.mean("episode_return") if trainer.episodes.count else float("nan")
    return mean, trainer.global_step


def sb3_return(task: str, seconds: float, seed: int) -> tuple[float, int]:
    try:
        from stable_baselines3 import PPO
        from stable_baselines3.common.callbacks import BaseCallback
    except ImportError:
        raise SystemExit("benchmarks/mujoco_return.py needs stable-baselines3: pip install 'sailfish-rl[bench]'") from None

    class Deadline(BaseCallback):
        def __init__(self, end: float):
            super().__init__()
            self.end = end

        def _on_step(self) -> bool:
            return time.perf_counter() < self.end

    model = PPO("MlpPolicy", task, seed=seed, device="cpu", verbose=0)
    model.learn(total_timesteps=10**9, callback=Deadline(time.perf_counter() + seconds))
    returns = [info["r"] for info in model.ep_info_buffer]
    return (float(np.mean(returns)) if returns else float("nan")), int(model.num_timesteps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=5.0, help="wallclock per task per library")
    p.add_argument("--tasks", nargs="+", default=["Hopper-v5", "Walker2d-v5"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    seconds = args.minutes * 60
    print(f"mean training return after {args.minutes:g} min (seed {args.seed}):")
    for task in args.tasks:
        for name, run in (("sailfish", sailfish_return), ("sb3", sb3_return)):
            start = time.perf_counter()
            mean, steps = run(task, seconds, args.seed)
            took = time.perf_counter() - start
            print(f"  {task:14s} {name:9s} return {mean:9.1f}   {steps:>9,} steps   {steps / took:8,.0f} steps/s",
                  flush=True)


if __name__ == "__main__":
    main()
