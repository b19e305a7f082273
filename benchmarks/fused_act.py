"""Rollout steps with the C actor (``sailfish.train.fused_act``) against torch's policy forward and
``Categorical.sample``, on cartpole's default config (MLP 4-64-64, 16 envs, 64 steps per
collection; ``--env`` for another native env's), one torch thread.

Two figures, each arm interleaved round by round (the order alternating) on the same objects:
- per call: one rollout step of ``--rows`` rows (solo) or of ``--members`` x 16 rows (a
  population's policy), best of ``--repeats`` timings of 2,000 calls;
- per collection: ``Trainer.collect()`` of the real trainer, with its collector's actor on and
  off, the median of ``--rounds`` (its env steps included: what a training iteration pays).

    python benchmarks/fused_act.py                  # ~30 s
    python benchmarks/fused_act.py --members 10 --rounds 30
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from sailfish.train import Config, Trainer, make_env
from sailfish.train.env import make_member_env


def make_trainer(env: str, members: int) -> Trainer:
    base = Config.load(env, dict(runs_dir="", torch_threads=1, log_seconds=0, total_steps=10**9))
    configs = [base.replace(seed=s) for s in range(members)]
    if members == 1:
        return Trainer(make_env(configs[0]), config=configs[0])
    return Trainer(make_member_env(configs), config=configs)


def per_call(trainer: Trainer, rows: int, repeats: int) -> dict[str, float]:
    """Microseconds per rollout step of ``rows`` rows: (torch, C actor)."""
    actor, generator = trainer.collector.actor, torch.Generator().manual_seed(0)
    assert actor.begin(trainer.policy)
    space = trainer.env.single_observation_space
    obs = torch.from_numpy(space.sample()).expand(rows, *space.shape).contiguous().float()

    def torch_step():
        params, value, _ = trainer.policy(obs, None)
        trainer.dist.sample(params.float(), generator, None)

    arms = {"torch": torch_step, "C actor": lambda: actor(obs, generator)}
    best = dict.fromkeys(arms, float("inf"))
    with torch.inference_mode():
        for r in range(repeats):
            for name in (list(arms) if r % 2 == 0 else list(arms)[::-1]):
                start = time.perf_counter()
                for _ in range(2000):
                    arms[name]()
                best[name] = min(best[name], (time.perf_counter() - start) / 2000 * 1e6)
    return best


def per_collection(trainer: Trainer, rounds: int) -> dict[str, float]:
    """Milliseconds per ``Trainer.collect()``: (torch, C actor)."""
    actor = trainer.collector.actor
    trainer.start()
    trainer.collect()  # warm-up
    times = {"torch": [], "C actor": []}
    for r in range(rounds):
        for name in (["torch", "C actor"] if r % 2 == 0 else ["C actor", "torch"]):
            trainer.collector.actor = actor if name == "C actor" else None
            start = time.perf_counter()
            trainer.collect()
            times[name].append((time.perf_counter() - start) * 1e3)
    trainer.collector.actor = actor
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="cartpole")
    parser.add_argument("--members", type=int, default=10, help="the population's size (besides solo)")
    parser.add_argument("--rows", type=int, default=32, help="rows of a solo step per call")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for members, rows in ((1, args.rows), (args.members, 16 * args.members)):
        trainer = make_trainer(args.env, members)
        if trainer.collector.actor is None or not trainer.collector.actor.begin(trainer.policy):
            print(f"{args.env}, K = {members}: the C actor does not serve this policy")
            continue
        call = per_call(trainer, rows, args.repeats)
        collect = per_collection(trainer, args.rounds)
        print(f"{args.env}, K = {members}: a step of {rows} rows {call['torch']:.1f} us torch, "
              f"{call['C actor']:.1f} us C actor ({call['torch'] / call['C actor']:.2f}x); a collection "
              f"of {trainer.rows} rows x {trainer.config.rollout_steps} steps {collect['torch']:.1f} ms torch, "
              f"{collect['C actor']:.1f} ms C actor ({collect['torch'] / collect['C actor']:.2f}x)", flush=True)
        trainer.env.close()


if __name__ == "__main__":
    main()
