"""Connect4: self-play against a league vs training against the one-ply bot, at equal wallclock.

    python benchmarks/self_play.py [--minutes 10] [--seeds 0,1,2] [--games 400] [--jobs 1]
                                   [--torch-threads 0] [--arms self-play,vs-one-ply[,mirror]]
                                   [--league KEY=VALUE,...] [--train KEY=VALUE,...]

Each seed trains once per arm, every run for the same wallclock. The default arms: self-play alone
(players = 2, the league settings of sailfish/configs/league/connect4.toml without its scripted bots,
so that no scripted opponent plays in training; ``--league 'bots=["random"]'`` puts them back) and
training against the one-ply bot (players = 1, agent_first = 0.5, connect4.toml with the league
file's encoder settings, so the two arms train the same network). ``--arms mirror`` adds a third: the
two-row env trained directly, the learner on both sides of every game with no league
(connect4.toml's settings; ``--train`` over them). Each policy then plays bot:onestep and
bot:minimax4 at full skill, and minimax4 at skill 0.9 (a diagnostic: see BOTS), half the games
moving first (greedy actions); the table gives the median win rate over the seeds per side. Each
seed's line also counts the distinct move sequences of the policy per cell (a lower bound on
distinct games): against a search, greedy play repeats a few.
The learning rate anneals to 0 over each run's wallclock budget (``max_seconds``), not its steps.
``--league`` overrides keys of the league file's ``[league]`` table (e.g. ``pool_size=16``), to try
league settings without editing the shipped file; ``--train`` overrides training settings of every arm
(e.g. ``ent_coef=0.05``; for self-play over the league file's ``[train]`` table).

By default each run gets the machine's cores over ``--jobs`` as torch and env threads: ``--jobs 1``
on the 2 cores is the issue's "10 minutes on the 2 cores". ``--jobs 2`` trains two runs at a time, one
process and one core each: each run then has half the machine (on an AMD EPYC in session 16, 128
window filters: 24k steps/s each against 39k for one run on both cores), a stricter budget that
gets through pilots twice as fast.
The self-play runs keep their run directories under ``--runs-dir`` (``league.csv``, the learner's
openskill rating over wallclock, and ``league_rating.png``); the table adds the Spearman correlation
of the rating's mu with wallclock per seed (1 = rising at every log).
"""
import argparse
import csv
import multiprocessing
import os
import statistics
import time
from pathlib import Path

import torch

import sailfish
from sailfish.commands.eval import play_match
from sailfish.league import LeagueConfig, train_self_play
from sailfish.league.self_play import league_file, load_league_file
from sailfish.train import Trainer, make_env
from sailfish.train.config import Config

# The two opponents at full skill, and depth-4 minimax at skill 0.9 (one move in ten skips the
# search for a centre-weighted random column): greedy play against a full-skill search repeats a few
# games, so that cell is near all or nothing per seed; at 0.9 the games vary and the rate moves with
# the policy's strength. It is a diagnostic, not one of the targets.
BOTS = {"bot:onestep": dict(opponent=0, opponent_skill=1.0),
        "bot:minimax4": dict(opponent=1, opponent_depth=4, opponent_skill=1.0),
        "minimax4@0.9": dict(opponent=1, opponent_depth=4, opponent_skill=0.9)}
STEPS = 10**12  # a time budget ends the runs, never total_steps


def _over(values: dict, overrides: dict) -> dict:
    """``overrides`` over ``values``, ``env_config`` merged key by key (so ``--train
    env_config={opening_plies=4}`` keeps an arm's ``players``)."""
    env_config = {**values.get("env_config", {}), **overrides.get("env_config", {})}
    return {**values, **overrides, "env_config": env_config}


def self_play(seed: int, seconds: float, threads: int, runs_dir: str, overrides: dict, train_overrides: dict):
    train, league = load_league_file(league_file("connect4"))
    league = {**league, "bots": [], **overrides}  # self-play alone: the learner's snapshots, no bot
    config = Config.load("connect4", {**_over(train, train_overrides), "seed": seed, "total_steps": STEPS,
                                      "max_seconds": seconds, "runs_dir": runs_dir, "torch_threads": threads,
                                      "num_threads": max(1, threads), "log_seconds": 10})
    trainer, _ = train_self_play(config, LeagueConfig.from_dict({**league, "seed": seed}))
    return trainer.policy, trainer.run_dir, trainer.global_step


def _train(seed: int, seconds: float, threads: int, values: dict):
    """A plain Trainer on connect4.toml with ``values`` over it, for ``seconds`` of wallclock."""
    config = Config.load("connect4", {**values, "seed": seed, "total_steps": STEPS, "max_seconds": seconds,
                                      "runs_dir": "", "torch_threads": threads, "num_threads": max(1, threads)})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    return trainer.policy, None, trainer.global_step


# The league file's keys that shape the policy.
NETWORK = ("encoder", "hidden_size", "window_filters", "mirror_symmetric")


def vs_onestep(seed: int, seconds: float, threads: int, runs_dir: str, overrides: dict, train_overrides: dict):
    """connect4.toml against the one-ply bot, with self-play's network (the league file's ``NETWORK``
    keys), so that the two arms differ in their opponents only."""
    train = load_league_file(league_file("connect4"))[0]
    network = {key: train[key] for key in NETWORK if key in train}
    return _train(seed, seconds, threads, _over({"env_config": {"agent_first": 0.5}, **network}, train_overrides))


def mirror(seed: int, seconds: float, threads: int, runs_dir: str, overrides: dict, train_overrides: dict):
    """Both rows of every game are the learner's (the two-row env trained directly, no league)."""
    return _train(seed, seconds, threads, _over({"env_config": {"players": 2}}, train_overrides))


def win_rates(policy, games: int, seed: int) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], int]]:
    """Win rates per (bot, side), and how many distinct move sequences of the policy each held."""
    rates, distinct = {}, {}
    for bot, params in BOTS.items():
        def make_side(first: bool, n: int, params=params):
            return sailfish.make("connect4", num_envs=n, seed=seed + 1000 * first, log_interval=0,
                                 agent_first=float(first), **params)
        moves: dict[str, list] = {}
        counts = play_match(make_side, policy.eval(), games, deterministic=True, moves=moves)
        for side, c in counts.items():
            rates[(bot, side)] = float(c[0] / max(1, c.sum()))
            distinct[(bot, side)] = len(set(moves.get(side, [])))
    return rates, distinct


def rating_trend(run_dir) -> float:
    """Spearman correlation of the learner's rating mu with wallclock over ``league.csv``'s rows."""
    from scipy.stats import spearmanr

    with open(Path(run_dir) / "league.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) < 3:
        return float("nan")
    return float(spearmanr([float(r["elapsed_s"]) for r in rows], [float(r["learner_mu"]) for r in rows]).statistic)


def job(args: tuple) -> tuple:
    """One training run and its evaluation: (arm, seed, win rates, distinct games, rating trend, run
    dir, seconds of training, steps)."""
    arm, seed, seconds, threads, games, runs_dir, overrides, train_overrides = args
    torch.set_num_threads(max(1, threads))
    t0 = time.perf_counter()
    policy, run_dir, steps = ARMS[arm](seed, seconds, threads, runs_dir, overrides, train_overrides)
    took = time.perf_counter() - t0
    trend = rating_trend(run_dir) if run_dir is not None else float("nan")
    rates, distinct = win_rates(policy, games, seed)
    return arm, seed, rates, distinct, trend, None if run_dir is None else str(run_dir), took, steps


ARMS = {"self-play": self_play, "vs-one-ply": vs_onestep, "mirror": mirror}
DEFAULT_ARMS = "self-play,vs-one-ply"


def league_overrides(text: str) -> dict:
    """``KEY=VALUE,...`` -> a dict of TOML values (``pool_size=16,bots=["onestep","random"]``): commas
    inside brackets belong to the value."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    parts, depth, current = [], 0, ""
    for ch in text:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return tomllib.loads("\n".join(part.strip() for part in parts if part.strip()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="wallclock of each training run")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--games", type=int, default=400, help="games per bot (half moving first)")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch and env threads per run (0: the machine's cores over --jobs)")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at a time (one process each)")
    parser.add_argument("--runs-dir", default="runs/self_play_bench", help="where the self-play runs are kept")
    parser.add_argument("--arms", default=DEFAULT_ARMS, help=f"which trainings to run, of {', '.join(ARMS)}")
    parser.add_argument("--league", default="", help="KEY=VALUE,... over the league file's [league] table")
    parser.add_argument("--train", default="", help="KEY=VALUE,... over every arm's training settings")
    args = parser.parse_args()
    if args.jobs < 1 or args.torch_threads < 0:
        parser.error("--jobs must be >= 1 and --torch-threads >= 0")
    threads = args.torch_threads or max(1, (os.cpu_count() or 1) // args.jobs)
    seeds = [int(s) for s in args.seeds.split(",")]
    arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"--arms: unknown {', '.join(unknown)} (known: {', '.join(ARMS)})")
    overrides, train_overrides = league_overrides(args.league), league_overrides(args.train)
    tasks = [(arm, seed, args.minutes * 60, threads, args.games, args.runs_dir, overrides, train_overrides)
             for seed in seeds for arm in arms]
    results: dict[str, list[dict]] = {arm: [] for arm in arms}
    trends: list[float] = []
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for arm, seed, rates, distinct, trend, run_dir, took, steps in pool.imap_unordered(job, tasks):
            results[arm].append(rates)
            if run_dir is not None:
                trends.append(trend)
            cells = "  ".join(f"{bot} {side} {rates[(bot, side)]:.3f} ({distinct[(bot, side)]} distinct)"
                              for bot in BOTS for side in ("first", "second"))
            print(f"seed {seed} {arm}: {steps / 1e6:.1f}M steps, {took:.0f} s of training; {cells}"
                  + (f"; rating trend {trend:.2f}, {run_dir}" if run_dir else ""), flush=True)
    print(f"\nmedian win rate over seeds {seeds}, {args.minutes:g} min of training each, {args.jobs} run(s) at a time "
          f"of {threads} thread(s) on {os.cpu_count()} cores, torch {torch.__version__}"
          + (f"; league overrides {overrides}" if overrides else "")
          + (f"; training overrides {train_overrides}" if train_overrides else ""))
    print(f"{'training':<12}" + "".join(f"{bot + ' ' + side:>22}" for bot in BOTS for side in ("first", "second")))
    for arm, runs in results.items():
        cells = [statistics.median(r[(bot, side)] for r in runs) for bot in BOTS for side in ("first", "second")]
        print(f"{arm:<12}" + "".join(f"{c:>22.3f}" for c in cells))
    print("self-play rating trend (Spearman of mu with wallclock) per seed: " + ", ".join(f"{t:.2f}" for t in trends))


if __name__ == "__main__":
    main()
