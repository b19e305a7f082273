"""Population training against solo runs, in one run: aggregate training SPS, the compute bound, and
(``--ablation``) the ablation of issue #13 end to end with and without populations.

- cartpole: one solo run's training SPS, then a population of K (default 20) members, same config;
  the ratio is the figure. The bound: the policy's matmul FLOPs per sample (rollout forward + update
  forward/backward, epochs included) against the batched-matmul peak measured on these cores at the
  population's own layer shape, so "fraction of the bound" says how much of the arithmetic peak the
  loop keeps.
- breakout (``--breakout``): a population of 8 on both cores (2 torch threads) against 8 separate runs
  on the same cores (2 processes at a time, 1 thread each: their summed SPS).
- ``--ablation``: ``sailfish ablate cartpole --seeds 5 --set lr=2.5e-3,5e-3 --set clip_coef=0.1,0.2``
  with ``--population on`` then ``off``, wallclock of each (the default total_steps).
- ``--steps-to-target N``: learning, not speed. N solo cartpole runs (seeds 0..N-1, one after the
  other) and one population of N members (the same seeds), each trained until its episode window
  reaches 475 or ``--step-cap`` steps (default: cartpole's ``total_steps``); the steps each took, and the
  median of each side with its 95% bootstrap CI (``scipy.stats.bootstrap``, percentile). A run that
  never reaches 475 counts as the cap (said in the output).

    python benchmarks/population.py [--members 20] [--iterations 10] [--breakout] [--ablation]
    python benchmarks/population.py --iterations 0 --steps-to-target 16
    python benchmarks/population.py --tanh      # tanh's ways and backwards, per call
    python benchmarks/population.py --mlp       # the C kernels against torch's ops: per call, then in a trainer
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

from sailfish.train import Config, Trainer, make_env
from sailfish.train.env import make_member_env


def training_sps(env_name: str, members: int, iterations: int, threads: int = 1, **overrides) -> float:
    """Aggregate samples/s (all members) of ``iterations`` collect + update after 2 warm-up ones."""
    base = Config.load(env_name, {"runs_dir": "", "total_steps": 10**9, "torch_threads": threads, **overrides})
    configs = [base.replace(seed=s) for s in range(members)]
    env = make_env(base) if members == 1 else make_member_env(configs)
    trainer = Trainer(env, config=configs)
    for _ in range(2):
        trainer.iteration()
    start = time.perf_counter()
    for _ in range(iterations):
        trainer.iteration()
    seconds = time.perf_counter() - start
    env.close()
    return iterations * trainer.batch_size * members / seconds


def steps_to_target(env_name: str, seeds: list[int], population: bool, cap: int) -> list[int]:
    """Per seed, the steps (per member) at the iteration whose episode window first reached 475;
    ``cap`` (0: the config's ``total_steps``, the end of its learning-rate schedule) where it never did."""
    overrides = {"runs_dir": "", "target_return": 475.0, "torch_threads": 1, "log_seconds": 0}
    base = Config.load(env_name, {**overrides, **({"total_steps": cap} if cap else {})})
    cap = base.total_steps
    groups = [[base.replace(seed=s) for s in seeds]] if population else [[base.replace(seed=s)] for s in seeds]
    steps: list[int] = []
    for configs in groups:
        env = make_member_env(configs) if population else make_env(configs[0])
        trainer = Trainer(env, config=configs if population else configs[0])
        reached = [cap] * len(configs)
        trainer.start()
        while trainer.global_step < cap and any(s is None for s in trainer.solved_at):
            trainer.iteration()
            for k in trainer._check_targets():  # what run() does after each iteration
                reached[k] = trainer.global_step
        trainer.close()
        env.close()
        steps += reached
    return steps


def median_ci(values: list[int]) -> tuple[float, float, float]:
    """The median and its 95% percentile-bootstrap CI."""
    import numpy as np
    from scipy.stats import bootstrap

    data = np.asarray(values, float)
    ci = bootstrap((data,), np.median, confidence_level=0.95, method="percentile", n_resamples=10_000,
                   random_state=0).confidence_interval
    return float(np.median(data)), float(ci.low), float(ci.high)


def mlp_flops_per_sample(config: Config, obs_size: int, outputs: int) -> float:
    """Matmul FLOPs one sample of experience costs: its rollout forward, then update_epochs forward +
    backward passes (backward ~2x forward; the first layer's input gradient is not needed, ignored)."""
    h = config.hidden_size
    forward = 2 * (obs_size * h + h * h + h * outputs)
    return forward + config.update_epochs * 3 * forward


def batched_matmul_peak(members: int, rows: int, hidden: int, repeats: int = 20) -> float:
    """GFLOP/s of ``baddbmm`` at ``[members, rows, hidden] x [members, hidden, hidden]`` (best of repeats)."""
    x, w, b = torch.randn(members, rows, hidden), torch.randn(members, hidden, hidden), torch.randn(members, 1, hidden)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.baddbmm(b, x, w)
        best = min(best, time.perf_counter() - start)
    return 2 * members * rows * hidden * hidden / best / 1e9


SOLO_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[3])
from population import training_sps
print(json.dumps(training_sps(sys.argv[1], 1, int(sys.argv[2]))))
"""


def separate_runs_sps(env_name: str, iterations: int, processes: int = 2) -> float:
    """Summed SPS of ``processes`` solo runs training at the same time (one per core)."""
    here = os.path.dirname(os.path.abspath(__file__))
    procs = [subprocess.Popen([sys.executable, "-c", SOLO_CHILD, env_name, str(iterations), here],
                              stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    return sum(json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs)


def ablation_seconds(population: str) -> float:
    with tempfile.TemporaryDirectory() as runs:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sailfish", "ablate", "cartpole", "--seeds", "5", "--set",
                        "lr=2.5e-3,5e-3", "--set", "clip_coef=0.1,0.2", "--runs-dir", runs,
                        "--population", population], check=True, capture_output=True)
        return time.perf_counter() - start


def tanh_costs(shape=(10, 1024, 64), repeats: int = 15, calls: int = 50) -> dict[str, float]:
    """Best microseconds per call of each tanh way (and backward) on one population-sized activation,
    one thread, interleaved repeat by repeat: torch.tanh, 2 sigmoid(2x) - 1 in four torch passes, the
    C kernel; torch's tanh_backward against the C backward (in place)."""
    from sailfish import _native

    x = torch.randn(shape) * 3
    y, grad = torch.tanh(x), torch.randn(shape)
    work = x.clone()
    ways = {
        "torch.tanh": lambda: torch.tanh(x),
        "4 torch passes": lambda: work.copy_(x).mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0),
        "C tanh_ (+ a copy)": lambda: _native.tanh_(work.copy_(x).numpy()),
        "torch tanh_backward": lambda: torch.ops.aten.tanh_backward(grad, y),
        "C tanh_backward_ (+ a copy)": lambda: _native.tanh_backward_(work.copy_(grad).numpy(), y.numpy()),
    }
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(repeats):
        for name, f in ways.items():
            start = time.perf_counter()
            for _ in range(calls):
                f()
            best[name] = min(best[name], (time.perf_counter() - start) / calls * 1e6)
    return best


def mlp_costs(members: int = 10, rows: int = 1024, widths=(4, 64, 64, 3), repeats: int = 20) -> dict[str, float]:
    """Best milliseconds of one forward + backward of ``fused_mlp.batched_mlp`` (cartpole's policy
    shape, a K = 10 minibatch), one thread, interleaved repeat by repeat: the C kernel
    (``_native.mlp_forward`` / ``mlp_backward``) against the torch path (baddbmm, bmm, the C tanh)."""
    from sailfish.policies import fused_mlp
    from sailfish.train.hardware import keep_freed_memory

    keep_freed_memory()  # as the trainer does: freed activations stay in the heap, warm
    g = torch.Generator().manual_seed(0)
    x = torch.randn(members, rows, widths[0], generator=g)
    weights = [(torch.randn(members, o, i, generator=g) / i ** 0.5).requires_grad_() for i, o in zip(widths, widths[1:])]
    biases = [torch.zeros(members, o).requires_grad_() for o in widths[1:]]
    upstream = torch.randn(members, rows, widths[-1], generator=g)

    def step():
        torch.autograd.grad(fused_mlp.batched_mlp(x, weights, biases), [*weights, *biases], upstream)

    best = {"C kernel": float("inf"), "torch": float("inf")}
    kernel = fused_mlp.HAS_KERNEL
    try:
        for _ in range(repeats):
            for name in best:
                fused_mlp.HAS_KERNEL = kernel and name == "C kernel"
                start = time.perf_counter()
                step()
                best[name] = min(best[name], (time.perf_counter() - start) * 1e3)
    finally:
        fused_mlp.HAS_KERNEL = kernel
    return best


def kernels_in_trainer(members: int = 10, rounds: int = 25) -> dict[str, tuple[float, float]]:
    """Median milliseconds of a K-member cartpole trainer's collection and update, with the C kernels
    (the MLP's and the categorical head's) and with torch's ops, toggled round by round in one
    process on the same trainer, so both see the same machine and the same learning state. Both
    arms take the autograd update (the kernels here serve it); the whole minibatch in one C call,
    which the trainer takes by default where it applies, is ``benchmarks/fused_update.py``'s."""
    import statistics

    from sailfish.policies import distributions, fused_mlp

    base = Config.load("cartpole", {"runs_dir": "", "total_steps": 10**9, "torch_threads": 1})
    configs = [base.replace(seed=s) for s in range(members)]
    env = make_member_env(configs)
    trainer = Trainer(env, config=configs)
    trainer.fused = None  # the autograd update, whose pieces these kernels are
    for _ in range(3):
        trainer.iteration()
    times = {"C kernels": ([], []), "torch ops": ([], [])}
    kernels = fused_mlp.HAS_KERNEL, distributions.HAS_KERNEL
    try:
        for _ in range(rounds):
            for name, (collect, update) in times.items():
                fused_mlp.HAS_KERNEL = distributions.HAS_KERNEL = name == "C kernels" and all(kernels)
                t0 = time.perf_counter()
                trainer.collect()
                t1 = time.perf_counter()
                trainer.update()
                collect.append(t1 - t0)
                update.append(time.perf_counter() - t1)
    finally:
        fused_mlp.HAS_KERNEL, distributions.HAS_KERNEL = kernels
        env.close()
    return {name: (1e3 * statistics.median(c), 1e3 * statistics.median(u)) for name, (c, u) in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--breakout", action="store_true")
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument("--steps-to-target", type=int, default=0, metavar="N",
                        help="N solo cartpole runs against a population of N: steps to 475 (0 = skip)")
    parser.add_argument("--step-cap", type=int, default=0,
                        help="total_steps per run with --steps-to-target (0 = cartpole's own, 150K)")
    parser.add_argument("--tanh", action="store_true", help="only the tanh ways, per call on 10 x 1024 x 64 floats")
    parser.add_argument("--mlp", action="store_true",
                        help="only the population MLP's forward + backward, the C kernel against torch's ops")
    args = parser.parse_args()
    print(f"cpu: {_cpu_model()}, torch {torch.__version__}, load before: {os.getloadavg()[0]:.2f}")
    torch.set_num_threads(1)
    if args.tanh:
        for name, us in tanh_costs().items():
            print(f"{name:28} best {us:7.0f} us per call (10 x 1024 x 64 floats, 1 thread)")
        return
    if args.mlp:
        config = Config.load("cartpole")
        h = config.hidden_size
        flops = 3 * 2 * (4 * h + h * h + h * 3)  # a sample's forward + backward (backward ~2x forward)
        costs = mlp_costs()
        peak = batched_matmul_peak(10, config.minibatch_size, config.hidden_size)
        for name, ms in costs.items():
            print(f"{name:9} forward + backward, 10 x 1024 samples of 4-64-64-3: best {ms:.2f} ms "
                  f"({flops * 10 * 1024 / ms / 1e6:.1f} GFLOP/s)")
        print(f"torch / C: {costs['torch'] / costs['C kernel']:.2f}x; batched matmul peak here {peak:.1f} GFLOP/s")
        medians = kernels_in_trainer()
        for name, (collect, update) in medians.items():
            print(f"K = 10 cartpole trainer, {name:9}: collection {collect:6.1f} ms, update {update:6.1f} ms "
                  f"per iteration (medians of 25 interleaved rounds)")
        print(f"update, torch / C: {medians['torch ops'][1] / medians['C kernels'][1]:.2f}x")
        return
    if args.steps_to_target:
        seeds = list(range(args.steps_to_target))
        for name, population in (("solo runs", False), (f"population of {len(seeds)}", True)):
            t0 = time.perf_counter()
            steps = steps_to_target("cartpole", seeds, population, args.step_cap)
            median, low, high = median_ci(steps)
            cap = args.step_cap or Config.load("cartpole").total_steps
            unsolved = sum(s >= cap for s in steps)
            print(f"cartpole steps to 475, {name} (seeds 0-{seeds[-1]}, {time.perf_counter() - t0:.0f} s): "
                  f"median {median:,.0f} [95% CI {low:,.0f}, {high:,.0f}]; {unsolved} never reached it "
                  f"within {cap:,}; all: {sorted(steps)}", flush=True)
    if not args.iterations:
        return
    config = Config.load("cartpole")
    solo = training_sps("cartpole", 1, args.iterations)
    pop = training_sps("cartpole", args.members, args.iterations)
    flops = mlp_flops_per_sample(config, 4, 3)
    peak = batched_matmul_peak(args.members, config.minibatch_size, config.hidden_size)
    bound = peak * 1e9 / flops
    print(f"cartpole, 1 thread: solo {solo:,.0f} SPS; population of {args.members}: {pop:,.0f} SPS "
          f"aggregate = {pop / solo:.2f}x solo")
    print(f"  bound: {flops:,.0f} matmul FLOPs per sample, batched matmul peak {peak:.1f} GFLOP/s here "
          f"-> {bound:,.0f} SPS; population at {pop / bound:.0%} of it, solo at {solo / bound:.0%}")
    if args.breakout:
        separate = separate_runs_sps("breakout", max(2, args.iterations // 5))
        together = training_sps("breakout", 8, max(2, args.iterations // 5), threads=2)
        print(f"breakout: population of 8 on 2 threads {together:,.0f} SPS; 8 separate runs, 2 at a time "
              f"on 1 thread each, {separate:,.0f} SPS summed = {together / separate:.2f}x")
    if args.ablation:
        on, off = ablation_seconds("on"), ablation_seconds("off")
        print(f"ablation cartpole, 4 variants x 5 seeds, 2 workers: populations {on:.1f} s, "
              f"one process per run {off:.1f} s ({off / on:.2f}x)")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown"


if __name__ == "__main__":
    main()
