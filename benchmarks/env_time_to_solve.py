"""Wallclock from trainer start to each native env's target score, median over seeds (issue 4).

Targets (a score random play never reaches; random play's figure in brackets):

    pong            score (win rate vs the scripted opponent) >= 0.9   [0.00004]
    breakout        walls_cleared (mean per episode) >= 1              [0; score 1.9 points]
    breakout_pixels walls_cleared >= 1 (CNN policy)                    [0; score 1.9 points]
    snake           score (mean length reached) >= 10                  [1.66]
    connect4        score (win rate vs the one-ply opponent) >= 0.9    [0.02]
    target          score (success rate) >= 0.9                        [0.013]

Each seed runs in a fresh process (no warm caches from earlier seeds); the clock starts before the
``Trainer`` is built (policy, optimizer, buffers) and stops after the first update at which the mean
of the target statistic over the latest >= rows finished episodes reaches the target (the trainer's
own ``EpisodeWindow``). Imports and env creation are not counted. A seed that does not reach the
target within the config's ``total_steps`` or ``--budget`` seconds counts as infinitely slow.
Prints one line per seed and the median per env. breakout_pixels is left out of the default list: its
CNN trains at ~3.5k steps/s on a 2-core CPU and does not reach the wall target within the budget (name
it in --envs to measure anyway).

    python benchmarks/env_time_to_solve.py [--envs pong,connect4] [--seeds 3] [--budget 600] \
        [--target 0.9] [--key value ...]

``--target`` overrides the threshold (only sensible with one env); ``--key value`` pairs are Config
overrides applied to every env (``--total-steps 5e6 --lr 1e-3``). ``--progress`` prints the child's
score every few seconds (for tuning).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys

TARGETS: dict[str, tuple[str, float]] = {
    "pong": ("score", 0.9),
    "breakout": ("walls_cleared", 1.0),
    "breakout_pixels": ("walls_cleared", 1.0),
    "snake": ("score", 10.0),
    "connect4": ("score", 0.9),
    "target": ("score", 0.9),
}

CHILD = r"""
import json, sys, time
from sailfish.train import Config, Trainer, make_env
env_name, key, target, budget, progress = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1"
overrides = json.loads(sys.argv[6])
config = Config.load(env_name, overrides)
env = make_env(config)
start = time.perf_counter()
trainer = Trainer(env, config=config)
window = trainer.episodes
solved, last_print, value = False, start, float("nan")
while trainer.global_step < config.total_steps:
    trainer.iteration()
    now = time.perf_counter()
    if window.count >= window.min_episodes:
        value = window.mean(key)
        if value >= target:
            solved = True
            break
    if now - start >= budget:
        break
    if progress and now - last_print >= 5:
        last_print = now
        print(f"  {now - start:6.1f} s {trainer.global_step:>11,} steps  {key} {value:.3f}  "
              f"score {window.mean('score'):.3f}  return {window.mean('episode_return'):.3f}",
              file=sys.stderr, flush=True)
seconds = time.perf_counter() - start
trainer.close()
env.close()
print(json.dumps({"seconds": seconds, "steps": trainer.global_step, "value": value, "solved": solved}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_envs = ",".join(name for name in TARGETS if name != "breakout_pixels")
    parser.add_argument("--envs", default=default_envs, help="comma-separated env names")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per seed before giving up")
    parser.add_argument("--target", type=float, default=None, help="override the target threshold")
    parser.add_argument("--progress", action="store_true", help="print the score every few seconds")
    args, rest = parser.parse_known_args()
    if len(rest) % 2:
        sys.exit(f"expected --key value pairs, got {rest}")
    extra = {rest[i].lstrip("-").replace("-", "_"): rest[i + 1] for i in range(0, len(rest), 2)}
    for name in args.envs.split(","):
        if name not in TARGETS:
            sys.exit(f"unknown env {name!r} (known: {', '.join(TARGETS)})")
        key, target = TARGETS[name]
        target = args.target if args.target is not None else target
        times, steps = [], []
        for seed in range(args.seeds):
            overrides = {"runs_dir": "", "seed": seed, **extra}
            cmd = [sys.executable, "-c", CHILD, name, key, str(target), str(args.budget),
                   "1" if args.progress else "0", json.dumps(overrides)]
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None if args.progress else subprocess.PIPE,
                                 text=True)
            if out.returncode != 0:
                sys.exit(f"{name} seed {seed}: " + ((out.stderr or "").strip().splitlines() or ["failed"])[-1])
            r = json.loads(out.stdout.strip().splitlines()[-1])
            flag = "" if r["solved"] else "  (NOT reached within total_steps / budget)"
            print(f"{name} seed {seed}: {r['seconds']:.1f} s, {r['steps']:,} steps, {key} {r['value']:.3f}{flag}",
                  flush=True)
            times.append(r["seconds"] if r["solved"] else math.inf)
            steps.append(r["steps"])
        median = statistics.median(times)
        text = f"{median:.1f} s" if math.isfinite(median) else "not reached"
        print(f"{name}: median time to {key} >= {target:g}: {text} (median {statistics.median(steps):,.0f} steps) "
              f"over {args.seeds} seeds", flush=True)


if __name__ == "__main__":
    main()
