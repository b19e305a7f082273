"""Gymnasium tasks trained with no flags: what `sailfish train gym:<id>` reaches in a fixed wallclock.

Each task is trained exactly as ``sailfish train gym:<id>`` with no flags would (``Config.load`` with
no overrides: the task's own ``configs/gym_<id>.toml`` if it has one, else the defaults chosen from
its spaces), for ``--seconds`` of wallclock or its ``total_steps``, whichever ends first, on one
torch thread. Random play is measured in the same run: the mean return of ``--random-episodes``
episodes of uniformly sampled actions. The table gives the mean over the latest finished training
episodes (the trainer's episode window) when time is up, so a return "well off random play" is one
the trainer's own metrics show, not a separate evaluation.

    python benchmarks/defaults.py                           # every task below, 60 s each (~15 min)
    python benchmarks/defaults.py --seconds 10 --tasks Pendulum-v1 CartPole-v1   # a smoke run

Needs gymnasium[mujoco] for the MuJoCo tasks (the [mujoco] extra); a task whose package is missing
is reported and skipped.
"""
from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

CLASSIC = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1", "MountainCarContinuous-v0"]
MUJOCO = ["InvertedPendulum-v5", "InvertedDoublePendulum-v5", "Reacher-v5", "Swimmer-v5", "HalfCheetah-v5",
          "Hopper-v5", "Walker2d-v5", "Ant-v5"]


def random_return(task: str, episodes: int, seed: int) -> float:
    """Mean undiscounted return of uniformly random actions over ``episodes`` episodes."""
    env = gym.make(task)
    env.action_space.seed(seed)
    returns = []
    for i in range(episodes):
        env.reset(seed=seed + i)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def trained_return(task: str, seconds: float, seed: int) -> tuple[float, int, str]:
    """Mean return of the trainer's episode window after ``seconds``, the steps taken, and where
    the config came from (the task's TOML or the spaces' defaults)."""
    from sailfish.train import Config, Trainer, make_env
    from sailfish.train.config import config_path

    source = "own TOML" if config_path(f"gym:{task}").exists() else "space defaults"
    config = Config.load(f"gym:{task}", {"runs_dir": "", "seed": seed, "torch_threads": 1, "log_seconds": 0})
    env = make_env(config)
    try:
        trainer = Trainer(env, config=config)
        trainer.start()
        start = time.perf_counter()
        while time.perf_counter() - start < seconds and trainer.global_step < config.total_steps:
            trainer.iteration()
        mean = trainer.episodes.mean("episode_return") if trainer.episodes.count else float("nan")
        return mean, trainer.global_step, source
    finally:
        env.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=CLASSIC + MUJOCO)
    p.add_argument("--seconds", type=float, default=60.0, help="training wallclock per task")
    p.add_argument("--random-episodes", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"| task | config | random play | trained ({args.seconds:g} s, seed {args.seed}) | steps | steps/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for task in args.tasks:
        try:
            baseline = random_return(task, args.random_episodes, args.seed)
        except (gym.error.Error, ImportError) as error:  # e.g. MuJoCo not installed
            print(f"| {task} | skipped: {type(error).__name__}: {error} | | | | |", flush=True)
            continue
        start = time.perf_counter()
        mean, steps, source = trained_return(task, args.seconds, args.seed)
        took = time.perf_counter() - start
        print(f"| {task} | {source} | {baseline:.1f} | {mean:.1f} | {steps:,} | {steps / took:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
