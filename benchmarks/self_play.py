"""Connect4: self-play against a league vs training against the one-ply bot, at equal wallclock.

    python benchmarks/self_play.py [--minutes 5] [--seeds 0,1,2] [--games 400]

Each seed trains twice for the same wallclock: by self-play (players = 2, the league settings of
sailfish/configs/league/connect4.toml) and against the one-ply bot (players = 1, agent_first = 0.5,
connect4.toml as it is). Each policy then plays bot:onestep and bot:minimax4 at full skill, half the
games moving first (greedy actions); the table gives the median win rate over the seeds per side.
The learning rate is not annealed (anneal_lr = false): a time budget has no known end step.
"""
import argparse
import statistics
import time

import torch

import sailfish
from sailfish.commands.eval import play_match
from sailfish.league import LeagueConfig, train_self_play
from sailfish.league.self_play import league_file, load_league_file
from sailfish.train import Trainer, make_env
from sailfish.train.config import Config

BOTS = {"bot:onestep": dict(opponent=0), "bot:minimax4": dict(opponent=1, opponent_depth=4)}
STEPS = 10**12  # a time budget ends the runs, never total_steps


def self_play(seed: int, seconds: float, threads: int):
    train, league = load_league_file(league_file("connect4"))
    config = Config.load("connect4", {**train, "seed": seed, "total_steps": STEPS, "anneal_lr": False,
                                      "runs_dir": "", "torch_threads": threads})
    trainer, _ = train_self_play(config, LeagueConfig.from_dict({**league, "seed": seed}), seconds=seconds)
    return trainer.policy


def vs_onestep(seed: int, seconds: float, threads: int):
    config = Config.load("connect4", {"env_config": {"agent_first": 0.5}, "seed": seed, "total_steps": STEPS,
                                      "anneal_lr": False, "runs_dir": "", "torch_threads": threads})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.start()
    while trainer.elapsed() < seconds:
        trainer.iteration()
    trainer.close()
    env.close()
    return trainer.policy


def win_rates(policy, games: int, seed: int) -> dict[tuple[str, str], float]:
    out = {}
    for bot, params in BOTS.items():
        def make_side(first: bool, n: int, params=params):
            return sailfish.make("connect4", num_envs=n, seed=seed + 1000 * first, log_interval=0,
                                 agent_first=float(first), opponent_skill=1.0, **params)
        counts = play_match(make_side, policy.eval(), games, deterministic=True)
        for side, c in counts.items():
            out[(bot, side)] = float(c[0] / max(1, c.sum()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="wallclock of each training run")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--games", type=int, default=400, help="games per bot (half moving first)")
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, list[dict]] = {"self-play": [], "vs one-ply": []}
    for seed in seeds:
        for arm, train in (("self-play", self_play), ("vs one-ply", vs_onestep)):
            t0 = time.perf_counter()
            policy = train(seed, args.minutes * 60, args.torch_threads)
            results[arm].append(win_rates(policy, args.games, seed))
            print(f"seed {seed} {arm}: trained {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\nmedian win rate over seeds {seeds}, {args.minutes:g} min of training each, torch {torch.__version__}")
    print(f"{'training':<12}" + "".join(f"{bot + ' ' + side:>22}" for bot in BOTS for side in ("first", "second")))
    for arm, runs in results.items():
        cells = [statistics.median(r[(bot, side)] for r in runs) for bot in BOTS for side in ("first", "second")]
        print(f"{arm:<12}" + "".join(f"{c:>22.3f}" for c in cells))


if __name__ == "__main__":
    main()
