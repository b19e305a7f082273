"""End-to-end training SPS on native cartpole vs the compute bound of the same policy, in one run.

The bound times, with torch on the same shapes and threads: the policy's forward on one
``[num_envs, obs]`` batch ``rollout_steps`` times (the rollout), plus ``update_epochs`` x
``batch / minibatch_size`` passes of forward + backward + Adam on a ``[minibatch_size, obs]`` batch
(the update). It leaves out everything the trainer adds (env stepping, sampling, copies, losses,
advantages), so training SPS / bound SPS is the fraction of the policy's own speed the loop keeps.

    python benchmarks/train_sps.py [--updates 40] [--key value ...]   (Config keys, e.g. --num-envs 64)
"""
from __future__ import annotations

import argparse
import copy
import time

import torch

import sailfish
from sailfish.train import Config, Trainer
from sailfish.train.optim import Adam


def compute_bound(trainer: Trainer, optimizer: str, repeats: int = 5) -> float:
    """Seconds per update of the bare policy work for the trainer's shapes (best of ``repeats``).

    ``optimizer``: "torch" for ``torch.optim.Adam`` (what a plain torch loop uses), "sailfish" for
    the trainer's own multi-tensor Adam (``sailfish.train.optim``), which is faster on small models.
    """
    cfg, policy = trainer.config, trainer.policy
    obs = trainer.collector.env_obs.clone()
    mb_obs = trainer.experience.obs.reshape(-1, *obs.shape[1:])[:cfg.minibatch_size].clone()
    policy = copy.deepcopy(policy)  # train a copy: the trainer's weights stay as they are
    if optimizer == "torch":
        opt = torch.optim.Adam(policy.parameters(), lr=1e-4)
    else:
        opt = Adam(policy.parameters(), lr=1e-4)
    num_mb = trainer.batch_size // cfg.minibatch_size
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode():
            for _ in range(cfg.rollout_steps):
                policy(obs, None)
        for _ in range(cfg.update_epochs * num_mb):
            out, value, _ = policy(mb_obs, None)
            loss = out.square().mean() + value.square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=30, help="updates per timed window")
    parser.add_argument("--windows", type=int, default=3, help="timed windows; the best is reported")
    args, rest = parser.parse_known_args()
    extra = {rest[i].lstrip("-").replace("-", "_"): rest[i + 1] for i in range(0, len(rest), 2)}
    config = Config.load("cartpole", {"runs_dir": "", "total_steps": 10**9, **extra})
    env = sailfish.make("cartpole", num_envs=config.num_envs, seed=0, num_threads=config.num_threads, log_interval=0)
    trainer = Trainer(env, config=config)
    for _ in range(3):  # warm-up
        trainer.iteration()
    best = None
    for _ in range(args.windows):  # best window: the least disturbed by other work on the machine
        trainer.timers = dict.fromkeys(trainer.timers, 0.0)
        start = time.perf_counter()
        for _ in range(args.updates):
            trainer.iteration()
        seconds = time.perf_counter() - start
        if best is None or seconds < best[0]:
            best = (seconds, dict(trainer.timers))
    seconds, t = best
    sps = args.updates * trainer.batch_size / seconds
    bound_torch = trainer.batch_size / compute_bound(trainer, "torch")
    bound_own = trainer.batch_size / compute_bound(trainer, "sailfish")
    print(f"cartpole, {config.num_envs} envs x {config.rollout_steps} steps, minibatch {config.minibatch_size}, "
          f"{config.update_epochs} epochs, hidden {config.hidden_size}, torch threads {config.torch_threads}")
    print(f"training SPS: {sps:,.0f}  (env {t['env'] / seconds:.0%}, forward {t['forward'] / seconds:.0%}, "
          f"learn {t['learn'] / seconds:.0%})")
    print("compute bound SPS (policy fwd for the rollout + fwd/bwd/Adam per minibatch):")
    print(f"  with torch.optim.Adam:          {bound_torch:,.0f}   training / bound: {sps / bound_torch:.0%}")
    print(f"  with sailfish's own Adam:       {bound_own:,.0f}   training / bound: {sps / bound_own:.0%}")


if __name__ == "__main__":
    main()
