"""Wallclock from trainer start to a target mean episode return: by default >= 475 on native
cartpole (500-step cap); ``--env gym:Acrobot-v1 --target -100`` for an emulated Gymnasium env.

Each seed runs in a fresh process (no warm caches from earlier seeds); the clock starts before the
``Trainer`` is built (policy, optimizer, buffers) and stops when the mean return over the latest
>= num_envs finished episodes first reaches the target. Imports are not counted. Prints one line per
seed and the median.

    python benchmarks/time_to_solve.py [--env cartpole] [--seeds 5] [--target 475] [--key value ...]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
from sailfish.train import Config, Trainer, make_env
overrides = json.loads(sys.argv[1])
config = Config.load(sys.argv[2], overrides)
env = make_env(config)
start = time.perf_counter()
trainer = Trainer(env, config=config)
trainer.run()
seconds = time.perf_counter() - start
ret = trainer.episodes.mean("episode_return")
print(json.dumps({"seed": config.seed, "seconds": seconds, "steps": trainer.global_step,
                  "return": ret, "solved": ret >= config.target_return}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="cartpole",
                        help="any trainable name: native (cartpole), gym:<id> (gym:Acrobot-v1), module:factory")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--target", type=float, default=475.0)
    args, rest = parser.parse_known_args()
    extra = {rest[i].lstrip("-").replace("-", "_"): rest[i + 1] for i in range(0, len(rest), 2)}
    times, steps = [], []
    for seed in range(args.seeds):
        overrides = {"runs_dir": "", "seed": seed, "target_return": args.target, **extra}
        # total_steps sets the LR annealing horizon: keep the config's unless asked; budget caps the run
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(overrides), args.env], capture_output=True,
                             text=True)
        if out.returncode != 0:
            sys.exit(out.stderr.strip().splitlines()[-1])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        flag = "" if r["solved"] else "  (NOT solved within total_steps)"
        print(f"seed {seed}: {r['seconds']:.2f} s, {r['steps']:,} steps, return {r['return']:.1f}{flag}", flush=True)
        times.append(r["seconds"] if r["solved"] else float("inf"))
        steps.append(r["steps"])
    print(f"median time to return >= {args.target:g}: {statistics.median(times):.2f} s "
          f"(median {statistics.median(steps):,.0f} steps) over {args.seeds} seeds")


if __name__ == "__main__":
    main()
