"""Milliseconds per move of connect4's scripted opponents (the `opponent` parameter), one thread.

    python benchmarks/connect4_bot.py [--depths 2,4,6,8] [--num-envs 256] [--steps 200]

The agent side plays uniformly random legal columns, so the opponent meets the positions of
random games (opening to endgame). Each vector step makes one opponent move per env (fewer when
the agent's move ends a game); the time of the same loop against the one-ply opponent is
subtracted, so the figure is the search's own cost per move.
"""
import argparse
import time

import numpy as np

import sailfish


def seconds_per_step(num_envs: int, steps: int, **config) -> tuple[float, float]:
    """(seconds per env step, opponent moves per env step) over ``steps`` vector steps."""
    env = sailfish.make("connect4", num_envs=num_envs, seed=0, num_threads=1, log_interval=0, **config)
    obs, _ = env.reset()
    rng = np.random.default_rng(0)
    games = 0.0
    elapsed = 0.0
    for _ in range(steps):
        scores = rng.random((num_envs, 7)) * (obs[:, 42:] > 0)
        actions = scores.argmax(axis=1).astype(np.int32)
        t0 = time.perf_counter()
        obs, _, terminals, _, _ = env.step(actions)
        elapsed += time.perf_counter() - t0
        games += terminals.sum()
    env.close()
    # A game the agent's move ends (about half of them) skips the opponent's reply.
    moves_per_step = 1.0 - 0.5 * games / (num_envs * steps)
    return elapsed / (num_envs * steps), moves_per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", default="2,4,6,8")
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    base, _ = seconds_per_step(args.num_envs, args.steps)
    print(f"one-ply opponent: {base * 1e6:.2f} us per env step (the baseline)")
    for depth in map(int, args.depths.split(",")):
        t, moves = seconds_per_step(args.num_envs, args.steps, opponent=1, opponent_depth=depth)
        print(f"minimax depth {depth}: {(t - base) / moves * 1e3:.4f} ms per move")
    t, moves = seconds_per_step(args.num_envs, args.steps, opponent=2)
    print(f"random opponent: {t * 1e6:.2f} us per env step")


if __name__ == "__main__":
    main()
