"""Our Adam vs ``torch.optim.Adam``: cost per step and one-time start-up cost, measured in one run.

Per step (in this process, torch on ``Config().torch_threads`` threads as the trainer runs it): the
policy of each shape gets one forward + backward on a minibatch, then each optimizer's ``step()`` is
timed on those gradients, and ``zero_grad()`` + ``step()`` (what the trainer calls per minibatch),
the optimizers interleaved repeat by repeat so a change in machine load hits them all alike.

Start-up (a fresh ``python -c`` per sample, the kinds interleaved): ``import torch`` alone, then the
first construction of the optimizer and its first ``step()`` (constructing a ``torch.optim`` optimizer
imports ``torch._dynamo``; nothing else on the trainer's path does unless ``compile = true``).

The verdict adds both for a cartpole run: start-up + (optimizer steps of a full run) x (cost per call).

    python benchmarks/optim.py [--repeats 15] [--calls 200] [--startup-repeats 5]

``--members K``: only a population's step instead, on the cartpole policy's parameters stacked K deep
with K different rates: ``Adam(members=K)`` against one fused-kernel call over every member's
slices (how it stepped before), interleaved.

    python benchmarks/optim.py --members 10 [--repeats 15] [--calls 200]
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import subprocess
import sys
import time

import torch

import sailfish
from sailfish.policies import make_policy
from sailfish.train import Config
from sailfish.train.optim import Adam

# name -> the constructor call as source text: the same text is run here and in the fresh-process
# probe, so both measure exactly the same call.
OPTIMIZERS = {
    "sailfish Adam": "Adam(params, lr=1e-3)",
    "torch Adam(foreach=True)": "torch.optim.Adam(params, lr=1e-3, foreach=True)",
    "torch Adam(fused=True)": "torch.optim.Adam(params, lr=1e-3, fused=True)",
    "torch Adam() default": "torch.optim.Adam(params, lr=1e-3)",
}


def build(name: str, params: list[torch.nn.Parameter]):
    """The optimizer ``name`` of ``OPTIMIZERS`` over ``params``."""
    return eval(OPTIMIZERS[name], {"torch": torch, "Adam": Adam, "params": params})


def shapes() -> dict[str, tuple[torch.nn.Module, torch.Tensor]]:
    """Policy and one minibatch of observations for each shape the trainer runs.

    cartpole: ``Config()`` defaults (2x64 MLP, 4 -> 64 -> 64, head 64 -> 3), minibatch of cartpole.toml;
    breakout: ``breakout.toml`` (hidden_size 128: 114 -> 128 -> 128, head 128 -> 4).
    """
    out = {}
    for label, env_name, config, minibatch in (
            ("cartpole 4-64-64 (+3)", "cartpole", Config(), Config.load("cartpole").minibatch_size),
            ("breakout 114-128-128 (+4)", "breakout", Config.load("breakout"), Config.load("breakout").minibatch_size)):
        env = sailfish.make(env_name, num_envs=8)
        policy = make_policy(env, config)
        obs = torch.randn(minibatch, *env.single_observation_space.shape)
        env.close()
        out[label] = (policy, obs)
    return out


def per_call_costs(repeats: int, calls: int) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Seconds per ``step()`` and per ``zero_grad()`` + ``step()``: [shape][optimizer][what] -> samples."""
    torch.set_num_threads(Config().torch_threads)
    results: dict = {}
    for label, (policy, obs) in shapes().items():
        runs = {}
        for name in OPTIMIZERS:
            net = copy.deepcopy(policy)  # each optimizer its own parameters
            params = [p for p in net.parameters() if p.requires_grad]
            params_out, value, _ = net(obs)
            (params_out.square().mean() + value.square().mean()).backward()
            opt = build(name, params)
            opt.step()  # first step (lazy state) is the start-up's, not the per-call cost
            runs[name] = (opt, params, [p.grad for p in params])
        results[label] = {name: {"step": [], "zero_grad+step": []} for name in OPTIMIZERS}
        names = list(OPTIMIZERS)
        for r in range(repeats):
            for name in names[r % len(names):] + names[:r % len(names)]:  # rotate who goes first
                opt, params, grads = runs[name]
                t0 = time.perf_counter()
                for _ in range(calls):
                    opt.step()
                t1 = time.perf_counter()
                spent = 0.0
                for _ in range(calls):
                    s0 = time.perf_counter()
                    opt.zero_grad(set_to_none=True)
                    spent += time.perf_counter() - s0
                    for p, g in zip(params, grads):  # backward's part, not timed
                        p.grad = g
                    s0 = time.perf_counter()
                    opt.step()
                    spent += time.perf_counter() - s0
                results[label][name]["step"].append((t1 - t0) / calls)
                results[label][name]["zero_grad+step"].append(spent / calls)
    return results


_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import sailfish
from sailfish.policies import make_policy
from sailfish.train import Config
from sailfish.train.optim import Adam
torch.set_num_threads(Config().torch_threads)
env = sailfish.make("cartpole", num_envs=8)
net = make_policy(env, Config())
params = [p for p in net.parameters() if p.requires_grad]
out, value, _ = net(torch.randn(1024, 4))
(out.square().mean() + value.square().mean()).backward()
dynamo_before = "torch._dynamo" in sys.modules
t2 = time.perf_counter()
opt = {ctor}
t3 = time.perf_counter()
opt.step()
t4 = time.perf_counter()
print(json.dumps({{"import_torch": t1 - t0, "construct": t3 - t2, "first_step": t4 - t3,
                  "dynamo_before": dynamo_before, "dynamo_after": "torch._dynamo" in sys.modules}}))
"""


def startup_costs(repeats: int) -> dict[str, list[dict]]:
    """One fresh interpreter per sample and optimizer kind, interleaved: see ``_PROBE``."""
    results: dict[str, list[dict]] = {name: [] for name in OPTIMIZERS}
    for _ in range(repeats):
        for name, ctor in OPTIMIZERS.items():
            done = subprocess.run([sys.executable, "-c", _PROBE.format(ctor=ctor)], capture_output=True,
                                  text=True, check=True)
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def optimizer_steps_per_cartpole_run() -> int:
    """Adam steps in a full cartpole.toml run (an upper bound: a solved run stops early)."""
    cfg = Config.load("cartpole")
    batch = cfg.num_envs * cfg.rollout_steps
    return math.ceil(cfg.total_steps / batch) * cfg.update_epochs * (batch // cfg.minibatch_size)


def us(seconds: float) -> str:
    """Seconds as right-aligned microseconds."""
    return f"{seconds * 1e6:8.1f}"


def member_step_costs(members: int, repeats: int, calls: int) -> dict[str, list[float]]:
    """Seconds per population step: ``Adam(members=K)`` and one fused call over the K members' slices."""
    torch.set_num_threads(1)
    policy, _ = next(iter(shapes().values()))
    shapes_k = [(members, *p.shape) for p in policy.parameters()]
    rates = [1e-3 * (k + 1) for k in range(members)]
    stacked = [torch.randn(s).requires_grad_() for s in shapes_k]
    for p in stacked:
        p.grad = torch.randn_like(p)
    ours = Adam(stacked, lr=rates, members=members)
    sliced = [torch.randn(s) for s in shapes_k]
    grads, m, v = ([torch.randn(s) for s in shapes_k] for _ in range(3))
    v = [x.abs() for x in v]
    count = torch.ones(())

    def slices_step():  # one call per distinct rate, as before: here every rate differs
        for k, rate in enumerate(rates):
            torch._fused_adam_([t[k] for t in sliced], [t[k] for t in grads], [t[k] for t in m], [t[k] for t in v],
                               [], [count] * len(sliced), lr=rate, beta1=0.9, beta2=0.999, weight_decay=0.0,
                               eps=1e-8, amsgrad=False, maximize=False)

    runs = {f"Adam(members={members})": ours.step, "fused call per member's slices": slices_step}
    results: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names[r % 2:] + names[:r % 2]:
            t0 = time.perf_counter()
            for _ in range(calls):
                runs[name]()
            results[name].append((time.perf_counter() - t0) / calls)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved repeats per optimizer")
    parser.add_argument("--calls", type=int, default=200, help="calls timed per repeat")
    parser.add_argument("--startup-repeats", type=int, default=5, help="fresh processes per optimizer")
    parser.add_argument("--members", type=int, default=0, help="time a population's step of K members instead")
    args = parser.parse_args()
    if args.members:
        print(f"torch {torch.__version__}, 1 thread; cartpole policy stacked {args.members} deep, "
              f"{args.repeats} repeats x {args.calls} calls, interleaved")
        for name, samples in member_step_costs(args.members, args.repeats, args.calls).items():
            print(f"{name:32} step best {us(min(samples))} us, median {us(statistics.median(samples))} us")
        return

    print(f"torch {torch.__version__}, {torch.get_num_threads()} default threads, running on "
          f"{Config().torch_threads}; {args.repeats} repeats x {args.calls} calls, interleaved")
    per_call = per_call_costs(args.repeats, args.calls)
    print("\nper call, microseconds: best / median over repeats")
    print(f"{'shape':26} {'optimizer':26} {'step best':>9} {'median':>8} {'zero+step best':>14} {'median':>8}")
    for label, by_opt in per_call.items():
        for name, samples in by_opt.items():
            s, zs = samples["step"], samples["zero_grad+step"]
            print(f"{label:26} {name:26} {us(min(s)):>9} {us(statistics.median(s)):>8} "
                  f"{us(min(zs)):>14} {us(statistics.median(zs)):>8}")

    startup = startup_costs(args.startup_repeats)
    print(f"\nstart-up in a fresh process (cartpole policy), milliseconds: best / median of {args.startup_repeats}")
    print(f"{'optimizer':26} {'import torch':>13} {'construct':>17} {'first step':>17} {'both':>17}  dynamo imported")
    both = {}
    for name, samples in startup.items():
        cols = []
        for key in ("import_torch", "construct", "first_step"):
            vals = [s[key] for s in samples]
            cols.append(f"{min(vals) * 1e3:7.1f} / {statistics.median(vals) * 1e3:7.1f}")
        both[name] = [s["construct"] + s["first_step"] for s in samples]
        cols.append(f"{min(both[name]) * 1e3:7.1f} / {statistics.median(both[name]) * 1e3:7.1f}")
        dyn = {(s["dynamo_before"], s["dynamo_after"]) for s in samples}
        dyn_text = ", ".join(f"{'yes' if a else 'no'} -> {'yes' if b else 'no'}" for a, b in sorted(dyn))
        print(f"{name:26} {cols[0]:>13} {cols[1]:>17} {cols[2]:>17} {cols[3]:>17}  {dyn_text}")

    steps = optimizer_steps_per_cartpole_run()
    cartpole = next(iter(per_call.values()))
    ours = "sailfish Adam"
    ours_call = statistics.median(cartpole[ours]["zero_grad+step"])
    ours_start = statistics.median(both[ours])
    print(f"\ncartpole run: {steps} optimizer steps at most (cartpole.toml); medians; "
          f"total = start-up + steps x (zero_grad + step)")
    print(f"{'optimizer':26} {'total ms':>9} {'vs ours ms':>11}  break-even steps")
    for name in OPTIMIZERS:
        call, start = statistics.median(cartpole[name]["zero_grad+step"]), statistics.median(both[name])
        total = start + steps * call
        delta = total - (ours_start + steps * ours_call)
        if name == ours:
            even = "-"
        elif call < ours_call:  # faster per call: it pays its start-up back after this many steps
            even = f"{(start - ours_start) / (ours_call - call):,.0f}"
        else:
            even = "never (slower per call too)"
        print(f"{name:26} {total * 1e3:9.1f} {delta * 1e3:+11.1f}  {even}")
    winner = min(OPTIMIZERS, key=lambda n: statistics.median(both[n])
                 + steps * statistics.median(cartpole[n]["zero_grad+step"]))
    print(f"faster for a whole cartpole run: {winner}")


if __name__ == "__main__":
    main()
