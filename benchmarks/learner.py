"""The learner at the hardware's speed: breakout's network (2x128 MLP, 256 envs x 128 steps, minibatch
8,192, 4 epochs) trained for real, at fp32 / bf16 x 1 / 2 torch threads x torch.compile off / on, next
to the torch compute bound of the same shapes measured in the same run.

The bound times the bare policy work of one update at the same precision and threads: the rollout
forwards (``rollout_steps`` passes over ``[num_envs, obs]``) and ``update_epochs x batch / minibatch``
forward + backward + Adam passes over ``[minibatch, obs]``. Training SPS / bound SPS is the fraction
the trainer keeps. Compiled runs include their compile time (the first iterations).

    python benchmarks/learner.py [--iterations 6] [--skip-compile]
"""
from __future__ import annotations

import argparse
import copy
import os
import time

import torch

import sailfish
from sailfish.train import Config, Trainer
from sailfish.train.hardware import cpu_flags, resolve_precision
from sailfish.train.optim import Adam


def trainer_for(precision: str, threads: int, compile_: bool) -> Trainer:
    config = Config.load("breakout", {"runs_dir": "", "total_steps": 10**10, "precision": precision,
                                      "torch_threads": threads, "compile": compile_})
    env = sailfish.make("breakout", num_envs=config.num_envs, seed=0, log_interval=0, **config.env_config)
    trainer = Trainer(env, config=config)
    trainer.start()
    return trainer


def training_sps(trainer: Trainer, iterations: int) -> tuple[float, float]:
    """(SPS over ``iterations`` after one warm-up iteration, seconds of that first iteration)."""
    start = time.perf_counter()
    trainer.iteration()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(iterations):
        trainer.iteration()
    return iterations * trainer.batch_size / (time.perf_counter() - start), first


def bound_sps(trainer: Trainer, repeats: int = 2) -> float:
    """Samples/s of the bare policy work of one update (best of ``repeats``)."""
    cfg = trainer.config
    policy = copy.deepcopy(trainer.policy)
    opt = Adam([p for p in policy.parameters() if p.requires_grad], lr=1e-4)
    obs = trainer.collector.env_obs.clone()
    mb_obs = trainer.experience.obs.reshape(-1, *obs.shape[1:])[:cfg.minibatch_size].clone()
    num_mb = trainer.batch_size // cfg.minibatch_size
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode(), trainer.amp():
            for _ in range(cfg.rollout_steps):
                policy(obs, None)
        for _ in range(cfg.update_epochs * num_mb):
            with trainer.amp():
                out, value, _ = policy(mb_obs, None)
            loss = out.float().square().mean() + value.float().square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        best = min(best, time.perf_counter() - start)
    return trainer.batch_size / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--skip-compile", action="store_true")
    args = parser.parse_args()
    flags = cpu_flags()
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 "unknown")
    print(f"cpu: {model}; native bf16: {sorted(flags & {'avx512_bf16', 'amx_bf16'}) or 'none'}; "
          f"auto precision: {resolve_precision('auto', torch.device('cpu'))[1]}; load {os.getloadavg()[0]:.2f}")
    print(f"{'precision':>9} {'threads':>7} {'compile':>7} {'train SPS':>10} {'bound SPS':>10} {'of bound':>8} "
          f"{'1st iter s':>10}")
    for compile_ in ([False] if args.skip_compile else [False, True]):
        for precision in ("fp32", "bf16"):
            for threads in (1, 2):
                trainer = trainer_for(precision, threads, compile_)
                sps, first = training_sps(trainer, args.iterations)
                bound = bound_sps(trainer)
                print(f"{precision:>9} {threads:>7} {str(compile_):>7} {sps:>10,.0f} {bound:>10,.0f} "
                      f"{sps / bound:>8.0%} {first:>10.1f}", flush=True)
                trainer.env.close()


if __name__ == "__main__":
    main()
