"""Atari: env steps/s of ale-py's AtariVectorEnv through ``AtariVecEnv`` against Gymnasium's
AsyncVectorEnv over ``gym.make("ALE/Pong-v5")`` with the same preprocessing wrappers (and EnvPool when
it is installed), same game, same run; and, with ``--train-minutes``, Pong's return vs wallclock.

Same preprocessing on every side: frameskip 4 with max-pool, 84x84 grey, 4 stacked frames, up to
30 no-ops, FIRE on reset, no sticky actions, sign-clipped rewards. Random actions, no policy: this is
the env's cost alone. Each figure is the median of ``--repeats`` timed runs of ``--seconds``.

    python benchmarks/atari.py                            # 8 envs, 2 threads / 2 workers, ~1 min
    python benchmarks/atari.py --seconds 1 --repeats 1    # smoke test
    python benchmarks/atari.py --train-minutes 30         # Pong: runs/atari_pong_return.csv and .png

The training mode runs ``configs/atari.toml`` (CleanRL's PPO-Atari settings; the learning rate
anneals over its 10M steps, so a shorter run stops part-way down the schedule) and prints the
agent step at which the mean return over the latest games first reaches 0.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import time
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np

from sailfish.vector import AtariVecEnv


class FireReset(gym.Wrapper):
    """Presses FIRE after each reset in games that need it (the same as ale-py's ``use_fire_reset``)."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        if "FIRE" in self.env.unwrapped.get_action_meanings():
            obs, _, term, trunc, info = self.env.step(1)
            if term or trunc:
                obs, info = self.env.reset(**kwargs)
        return obs, info


def gymnasium_pong():
    import ale_py

    gym.register_envs(ale_py)
    env = gym.make("ALE/Pong-v5", frameskip=1, repeat_action_probability=0.0)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True)
    env = FireReset(env)
    env = gym.wrappers.TransformReward(env, np.sign)
    return gym.wrappers.FrameStackObservation(env, 4)


def steps_per_second(env, seconds: float, num_envs: int, actions: int) -> float:
    rng = np.random.default_rng(0)
    batch = [rng.integers(0, actions, num_envs) for _ in range(64)]
    with warnings.catch_warnings():  # EnvPool is seeded at make (envpool_pong) and says so here
        warnings.filterwarnings("ignore", "EnvPool seeds")
        env.reset(seed=0)
    env.step(batch[0])  # warm up
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(batch[steps % 64])
        steps += 1
    return steps * num_envs / (time.perf_counter() - start)


def envpool_pong(num_envs: int, threads: int):
    """EnvPool's Pong with the same preprocessing, or None when EnvPool is not importable."""
    try:
        import envpool
    except Exception:  # not installed, or its binary does not load here
        return None
    return envpool.make("Pong-v5", env_type="gymnasium", num_envs=num_envs, num_threads=threads, seed=0,
                        episodic_life=False, reward_clip=True, noop_max=30, repeat_action_probability=0.0,
                        stack_num=4, img_height=84, img_width=84, gray_scale=True, frame_skip=4)


def throughput(args) -> None:
    sides = {"sailfish AtariVecEnv (ale-py threads)": lambda: AtariVecEnv("Pong", args.envs, num_threads=args.threads),
             f"gymnasium AsyncVectorEnv ({args.envs} processes)":
                 lambda: gym.vector.AsyncVectorEnv([gymnasium_pong] * args.envs)}
    if envpool_pong(1, 1) is not None:
        sides["envpool"] = lambda: envpool_pong(args.envs, args.threads)
    envs = {name: make() for name, make in sides.items()}
    figures: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(args.repeats):  # interleaved, so a noisy neighbour hits every side alike
        for name, env in envs.items():
            figures[name].append(steps_per_second(env, args.seconds, args.envs, 6))
    for env in envs.values():
        env.close()
    medians = {name: statistics.median(v) for name, v in figures.items()}
    base = medians[next(n for n in medians if n.startswith("gymnasium"))]
    print(f"Pong, {args.envs} envs, {args.seconds:g} s x {args.repeats}, env steps/s (agent steps, 4 frames each):")
    for name, sps in medians.items():
        print(f"  {name:55s} {sps:10,.0f}   {sps / base:5.2f}x gymnasium")


def train(args) -> None:
    from sailfish._extras import require
    from sailfish.train import Config, Trainer, make_env

    config = Config.load("atari:Pong", {"runs_dir": "", "num_threads": args.threads})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.start()
    rows, crossed, start = [], None, time.perf_counter()
    while time.perf_counter() - start < args.train_minutes * 60:
        trainer.iteration()
        mean = trainer.episodes.mean("episode_return") if trainer.episodes.count else float("nan")
        rows.append((time.perf_counter() - start, trainer.global_step, mean))
        if crossed is None and trainer.episodes.full() and mean >= 0:
            crossed = trainer.global_step
    env.close()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        csv.writer(f).writerows([("seconds", "step", "mean_return"), *rows])
    plt = require("matplotlib.pyplot", "the return-vs-wallclock plot")
    plt.figure(figsize=(6, 3.5))
    plt.plot([r[0] / 60 for r in rows], [r[2] for r in rows])
    plt.xlabel("wallclock (minutes)"), plt.ylabel("mean game score"), plt.title("Pong, sailfish PPO")
    plt.grid(alpha=0.3), plt.tight_layout(), plt.savefig(out.with_suffix(".png"), dpi=120)
    last = rows[-1] if rows else (0.0, 0, float("nan"))
    print(f"Pong: {last[1]:,} steps in {last[0]:.0f} s, mean return {last[2]:.1f}; "
          f"return >= 0 first at step {crossed if crossed is not None else 'never'}; "
          f"{out.with_suffix('.csv')}, {out.with_suffix('.png')}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--envs", type=int, default=8)
    p.add_argument("--threads", type=int, default=2, help="ale-py / EnvPool threads (gymnasium: one process per env)")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--train-minutes", type=float, default=0.0, help="train Pong this long instead of timing envs")
    p.add_argument("--out", default="runs/atari_pong_return", help="CSV/PNG path without suffix (--train-minutes)")
    args = p.parse_args()
    if args.train_minutes > 0:
        train(args)
    else:
        throughput(args)


if __name__ == "__main__":
    main()
