"""Agent lifetime on the default mmo world: a shared PPO policy trained for a wallclock budget vs
random agents, median over seeds, and a plot of lifetime and levels vs wallclock.

Each seed trains in a fresh process with ``sailfish/configs/mmo.toml`` (2 worlds x 128 agents on
128x128 maps; ``--key value`` overrides any Config key) until ``--minutes`` of wallclock or
``total_steps`` (default: minutes x 60 x ``--sps``, the learning-rate annealing horizon), whichever comes first, writing a
normal run directory under ``--runs-dir`` (its ``metrics.csv`` gets the extra columns
``episode/lifetime``, ``episode/combat_level`` and ``episode/forage_level``). Then the trained policy
(sampling) and uniformly random actions each play the same worlds for ``--eval-ticks`` ticks from the
same seed; the lifetime of an agent is the mean over every life that ended in that time (deaths and
world truncations alike), so both are censored the same way. Prints one line per seed and the median
ratio; writes the plot to ``--plot``.

    python benchmarks/mmo_learning.py [--seeds 3] [--minutes 30] [--parallel 1] [--plot docs/mmo_learning.png]
        [--key value ...]

``--parallel N`` trains N seeds at a time. The trainer uses one core (one torch thread, the env
in the calling thread), so on this 2-core machine ``--parallel 2`` gives each seed a core and
``--parallel 3`` gives each two thirds of one: never more compute than "30 minutes on 2 cores".
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
from sailfish.train import Config, Trainer, make_env
from sailfish.train.evaluate import mean_episode_stat
args = json.loads(sys.argv[1])
config = Config.load("mmo", args["overrides"])
budget = args["minutes"] * 60.0

class Extras:
    # called before the run's CSV writer with the same dict: add the env's extra stats to metrics.csv
    def log(self, metrics, step):
        for key in ("lifetime", "combat_level", "forage_level", "food_gathered", "water_gathered"):
            metrics[f"episode/{key}"] = trainer.episodes.mean(key)
        if metrics["elapsed_s"] >= budget:
            trainer.config.total_steps = trainer.global_step  # stop after this update
    def message(self, text):
        print(text, file=sys.stderr)
    def close(self):
        pass

env = make_env(config)
start = time.perf_counter()
trainer = Trainer(env, config=config, logger=Extras())
trainer.run()
seconds = time.perf_counter() - start
env.close()

def lifetime(policy, ticks, seed):
    env = make_env(config, seed=seed)
    mean, _ = mean_episode_stat(env, policy, ticks, "lifetime", seed)
    env.close()
    return mean

trainer.policy.eval()
trained = lifetime(trainer.policy, args["eval_ticks"], 10_000 + config.seed)
rand = lifetime(None, args["eval_ticks"], 10_000 + config.seed)
print(json.dumps({"seed": config.seed, "seconds": seconds, "steps": trainer.global_step, "run": str(trainer.run_dir),
                  "trained": trained, "random": rand, "ratio": trained / rand}))
"""


def read_metrics(run_dir: str) -> dict[str, list[float]]:
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    keys = ("elapsed_s", "episode/lifetime", "episode/length", "episode/combat_level", "episode/forage_level")
    return {k: [float(r[k]) if r.get(k) not in (None, "") else float("nan") for r in rows] for k in keys}


def _rolling(times: list[float], values: list[float], window: float = 60.0) -> list[float]:
    """Mean of the finite values logged in the last ``window`` seconds, at each log."""
    out = []
    for i, t in enumerate(times):
        recent = [v for s, v in zip(times[:i + 1], values[:i + 1]) if t - s <= window and v == v]
        out.append(sum(recent) / len(recent) if recent else float("nan"))
    return out


def plot(results: list[dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for i, r in enumerate(results):
        m = read_metrics(r["run"])
        minutes = [t / 60 for t in m["elapsed_s"]]
        c = f"C{i}"
        # The world regenerates every 1024 ticks and lives cut short by that are in the window too, so
        # the raw curve saws; the bold line is its mean over the last minute.
        ax1.plot(minutes, m["episode/lifetime"], c, lw=0.6, alpha=0.35)
        ax1.plot(minutes, _rolling(m["elapsed_s"], m["episode/lifetime"]), c, lw=1.8,
                 label=f"seed {r['seed']} (training window, 1-min mean)")
        ax1.axhline(r["random"], color=c, ls=":", lw=1)
        ax1.plot([minutes[-1]], [r["trained"]], "o", color=c)
        ax2.plot(minutes, _rolling(m["elapsed_s"], m["episode/combat_level"]), c, lw=1.5,
                 label=f"combat, seed {r['seed']}")
        ax2.plot(minutes, _rolling(m["elapsed_s"], m["episode/forage_level"]), c, lw=1.5, ls="--",
                 label=f"forage, seed {r['seed']}")
    ax1.set(xlabel="wallclock (min)", ylabel="agent lifetime (ticks)",
            title="lifetime (dotted: random agents; dot: evaluated)")
    ax2.set(xlabel="wallclock (min)", ylabel="level reached per life", title="levels (1-min mean)")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=30.0, help="training wallclock per seed")
    parser.add_argument("--sps", type=float, default=8_000,
                        help="expected training steps/s per seed: total_steps = minutes x 60 x sps")
    parser.add_argument("--eval-ticks", type=int, default=2048, help="ticks each of trained and random agents play")
    parser.add_argument("--parallel", type=int, default=1, help="seeds trained at the same time")
    parser.add_argument("--runs-dir", default="runs/mmo_learning")
    parser.add_argument("--plot", default="docs/mmo_learning.png")
    parser.add_argument("--replot", action="store_true",
                        help="redraw the plot from <runs-dir>/results.json of an earlier invocation")
    args, rest = parser.parse_known_args()
    extra = {rest[i].lstrip("-").replace("-", "_"): rest[i + 1] for i in range(0, len(rest), 2)}
    title = (f"mmo, default world (2 worlds x 128 agents, 128x128): PPO, {args.seeds} seeds, "
             f"{args.parallel} at a time on 2 CPU cores")
    results_path = Path(args.runs_dir) / "results.json"
    if args.replot:
        saved = json.loads(results_path.read_text())
        plot(saved["results"], args.plot, saved["title"])
        return
    results = []
    pending = list(range(args.seeds))
    running: list[tuple[int, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < args.parallel:
            seed = pending.pop(0)
            # total_steps: the learning-rate annealing horizon (the run stops at it if sooner)
            overrides = {"seed": seed, "runs_dir": args.runs_dir, "log_seconds": 5.0,
                         "total_steps": int(args.minutes * 60 * args.sps), **extra}
            child = {"overrides": overrides, "minutes": args.minutes, "eval_ticks": args.eval_ticks}
            running.append((seed, subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(child)],
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        seed, proc = running.pop(0)
        out, err = proc.communicate()
        if proc.returncode != 0:
            for _, other in running:
                other.kill()
            sys.exit(f"seed {seed}: " + (err.strip().splitlines() or ["failed"])[-1])
        r = json.loads(out.strip().splitlines()[-1])
        results.append(r)
        print(f"seed {seed}: {r['seconds'] / 60:.1f} min, {r['steps']:,} steps, lifetime {r['trained']:.1f} "
              f"vs random {r['random']:.1f} = {r['ratio']:.2f}x  ({r['run']})", flush=True)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps({"title": title, "results": results}, indent=1))
    plot(results, args.plot, title)
    print(f"median lifetime ratio over {args.seeds} seeds: {statistics.median(r['ratio'] for r in results):.2f}x "
          f"(target 3x) after {args.minutes:g} min each; plot: {args.plot}")


if __name__ == "__main__":
    main()
