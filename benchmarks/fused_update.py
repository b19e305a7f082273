"""The PPO update with the C minibatch gradient (``sailfish.train.fused_update``) against torch's
autograd path, on cartpole's default config (MLP 4-64-64, minibatch 1,024, 10 epochs; ``--env`` for
another native env's, e.g. connect4's masked 2x128 MLP), for one run and for populations,
interleaved round by round on the same trainer, on one torch thread.

Each round collects a fresh batch, then times ``Trainer.update()`` once per arm, the arms' order
alternating between rounds: "C kernel" (the trainer's ``FusedUpdate``), "autograd fp32" (the same
trainer with it switched off). Where ``precision = "auto"`` would pick bf16 matmuls on this CPU
(AMX: the trainer now picks fp32 and the kernel there), a second trainer of the same seeds times
"autograd bf16" in the same rounds. Also printed: the kernel's rate in GFLOP/s (the MLP's
multiply-adds forward and backward per sample, the first layer's input gradient excluded).

    python benchmarks/fused_update.py                      # members 1, 10, 20; ~1 min
    python benchmarks/fused_update.py --members 10 --rounds 30
    python benchmarks/fused_update.py --env connect4 --members 1
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from sailfish.train import Config, Trainer, make_env
from sailfish.train.env import make_member_env
from sailfish.train.hardware import resolve_precision


def make_trainer(env: str, members: int, precision: str) -> Trainer:
    base = Config.load(env, dict(runs_dir="", precision=precision, torch_threads=1, log_seconds=0,
                                 total_steps=10**9))
    configs = [base.replace(seed=s) for s in range(members)]
    if members == 1:
        return Trainer(make_env(configs[0]), config=configs[0])
    return Trainer(make_member_env(configs), config=configs)


def mlp_flops(trainer: Trainer) -> float:
    """FLOPs of one sample's forward and backward through the policy's linear layers."""
    sizes = [tuple(p.shape[-2:]) for p, shape in zip(trainer.fused.params, trainer.fused.shapes) if len(shape) == 3]
    forward = sum(o * i for o, i in sizes)
    backward = 2 * forward - sizes[0][0] * sizes[0][1]  # weight gradients + input gradients but the first's
    return 2.0 * (forward + backward)


def compare(env: str, members: int, rounds: int) -> None:
    trainer = make_trainer(env, members, "fp32")
    if trainer.fused is None:
        print(f"{env}, K = {members}: the C kernel does not apply (not an MLP with a categorical head, or no C core)")
        return
    fused = trainer.fused
    arms = {"C kernel": (trainer, fused), "autograd fp32": (trainer, None)}
    if resolve_precision("auto", torch.device("cpu"))[0] is not None:
        bf16 = make_trainer(env, members, "bf16")
        arms["autograd bf16"] = (bf16, None)
    for t, _ in arms.values():
        t.collect()
        t.update()
    times = {name: [] for name in arms}
    names = list(arms)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            t, kernel = arms[name]
            t.fused = kernel
            t.collect()
            start = time.perf_counter()
            t.update()
            times[name].append(time.perf_counter() - start)
    trainer.fused = fused
    cfg = trainer.config
    minibatches = cfg.update_epochs * trainer.batch_size // cfg.minibatch_size
    samples = minibatches * cfg.minibatch_size * members
    base = statistics.median(times["C kernel"])
    print(f"{env}, K = {members}: {minibatches} minibatches of {members} x {cfg.minibatch_size} samples per update, "
          f"median of {rounds} interleaved rounds")
    for name in names:
        median = statistics.median(times[name])
        print(f"  {name:14s} {median * 1e3:8.1f} ms per update   {median / base:5.2f}x the kernel's time")
    print(f"  the kernel's whole update at {mlp_flops(trainer) * samples / base / 1e9:.1f} GFLOP/s of MLP work")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="1,10,20", help="population sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--env", default="cartpole", help="a native env (its config's policy and batch)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for members in map(int, args.members.split(",")):
        compare(args.env, members, args.rounds)


if __name__ == "__main__":
    main()
