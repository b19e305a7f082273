"""Data-parallel training on ``torch.distributed``: several ranks (processes, machines) train one policy.

Every rank steps its own envs (seeded apart), starts from rank 0's weights and optimizer state, and
averages its gradient with the others' after every minibatch's backward (one all-reduce of the
flattened gradients: a small policy's gradient is one bucket, which is all DDP would send, without
its hooks); episode statistics and observation-normalisation statistics are summed over ranks, so
every rank sees the same windows, stops at the same update and logs the same figures. Rank 0 alone
writes the run directory, metrics and checkpoints.

Launch with ``torchrun --nproc-per-node K -m sailfish train <env> ...`` (``sailfish.cli`` calls
``init_from_environment`` when torchrun's variables are set), or build a ``Trainer`` inside a process
group you initialised yourself. gloo on CPU, NCCL on CUDA.
"""
from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist

# A collective that waits longer than this for a rank is an error naming the wait, never a hang.
TIMEOUT_S = 60


def active() -> bool:
    """True inside an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def launched_by_torchrun() -> bool:
    """True when torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR) describe a group to join."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR")) and int(os.environ["WORLD_SIZE"]) > 1


def init_from_environment(device: str = "cpu") -> None:
    """Join the process group torchrun describes (gloo for CPU, NCCL for CUDA), with a 60 s timeout."""
    if dist.is_initialized() or not launched_by_torchrun():
        return
    backend = "nccl" if device.startswith("cuda") and torch.cuda.is_available() else "gloo"
    timeout = datetime.timedelta(seconds=TIMEOUT_S)
    # A restarted job (torchrun --max-restarts) meets in torchrun's store, which still holds the dead
    # attempt's addresses under the default keys: gloo then dials a closed port until it times out
    # (seen with torch 2.13). Each attempt gets keys of its own.
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    world, rank_ = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world, False, timeout=timeout)
    dist.init_process_group(backend, store=dist.PrefixStore(f"sailfish/attempt{attempt}", store), rank=rank_,
                            world_size=world, timeout=timeout)


def _call(what: str, fn, *args, **kwargs):
    """Run a collective; a lost peer becomes one line naming this rank and what it waited for."""
    try:
        return fn(*args, **kwargs)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RuntimeError(f"rank {rank()}: {what} failed, another rank died or stopped answering "
                           f"(within {TIMEOUT_S} s): {first}") from None


def broadcast_tensors(tensors: list[torch.Tensor], src: int = 0, dtype: torch.dtype = torch.float32) -> None:
    """Overwrite ``tensors`` on every rank with rank ``src``'s, in one flattened broadcast sent as
    ``dtype`` (float64 for counters and statistics that float32 would round)."""
    if not active() or not tensors:
        return
    flat = torch.cat([t.detach().reshape(-1).to(dtype) for t in tensors])
    _call("broadcast of the weights", dist.broadcast, flat, src)
    offset = 0
    with torch.no_grad():
        for t in tensors:
            t.copy_(flat[offset:offset + t.numel()].view_as(t).to(t.dtype))
            offset += t.numel()


def all_reduce_sum(values: torch.Tensor, what: str) -> torch.Tensor:
    """Sum ``values`` over ranks, in place; returns it."""
    if active():
        _call(what, dist.all_reduce, values, dist.ReduceOp.SUM)
    return values


class GradientAverager:
    """Averages the gradients of ``params`` over ranks in one all-reduce of a flat buffer."""

    def __init__(self, params: list[torch.Tensor]):
        self.params = params
        self.flat = torch.zeros(sum(p.numel() for p in params), device=params[0].device) if params else None

    def __call__(self) -> None:
        if not active():
            return
        offset = 0
        for p in self.params:  # a parameter without a gradient contributes zeros, as a rank must
            n = p.numel()
            if p.grad is None:
                self.flat[offset:offset + n].zero_()
            else:
                self.flat[offset:offset + n].copy_(p.grad.reshape(-1))
            offset += n
        all_reduce_sum(self.flat, "gradient all-reduce").div_(world_size())
        offset = 0
        for p in self.params:
            n = p.numel()
            grad = self.flat[offset:offset + n].view_as(p)
            if p.grad is None:
                p.grad = grad.clone()
            else:
                p.grad.copy_(grad)
            offset += n


STAT_KEYS = ("episode_return", "episode_length", "score")


def reduce_episode_stats(stats: dict[str, float]) -> dict[str, float]:
    """One rank's drained episode means → the means over every rank's episodes (same on all ranks)."""
    if not active():
        return stats
    count = float(stats.get("episodes", 0) or 0)
    sums = torch.tensor([count] + [count * float(stats.get(k, 0.0) if count else 0.0) for k in STAT_KEYS],
                        dtype=torch.float64)
    all_reduce_sum(sums, "episode statistics all-reduce")
    total = float(sums[0])
    if total == 0:
        return {}
    return {"episodes": total, **{k: float(s) / total for k, s in zip(STAT_KEYS, sums[1:])}}


# Seeds of rank r are offset by r x this (env streams, action sampling, minibatch order).
RANK_SEED_STRIDE = 7_919_993


def world_mismatch(saved: int, now: int) -> str:
    """The one-line refusal of a resume with another number of ranks."""
    return (f"--resume: the run was trained with {saved} data-parallel rank(s) and this job has {now}; "
            f"resume it with the same number (torchrun --nproc-per-node {saved})")


def sum_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over ranks in place (observation statistics)."""
    return all_reduce_sum(values, "observation statistics all-reduce")


def sync_from_rank0(trainer, saved_world: int) -> None:
    """Every rank takes rank 0's weights, optimizer state, counters and reward_norm statistics (a
    resumed run's included); every rank raises the same one-line error when rank 0's checkpoint had
    another world size."""
    counters = torch.tensor([trainer.global_step, trainer.update_count, trainer.optimizer.steps,
                             trainer.elapsed_before, saved_world], dtype=torch.float64)
    broadcast_tensors([counters], dtype=torch.float64)
    if int(counters[4]) != trainer.world_size:
        raise ValueError(world_mismatch(int(counters[4]), trainer.world_size))
    trainer.global_step = trainer.resumed_step = int(counters[0])
    trainer.update_count, trainer.optimizer.steps = int(counters[1]), int(counters[2])
    trainer.elapsed_before = float(counters[3])
    policy, optimizer = trainer.policy, trainer.optimizer
    broadcast_tensors(list(policy.parameters()) + list(policy.buffers()) + optimizer.exp_avg + optimizer.exp_avg_sq)
    norms = [n for n in trainer.reward_norms if n is not None]
    if norms:  # every rank's reward_norm continues from rank 0's statistics (the ones checkpointed)
        stats = torch.tensor([[n.mean, n.var, n.count] for n in norms], dtype=torch.float64)
        broadcast_tensors([stats], dtype=torch.float64)
        for norm, (mean, var, count) in zip(norms, stats.tolist()):
            norm.load_state_dict({"mean": mean, "var": var, "count": count})
    if trainer.rank != 0 and trainer.update_count:  # generators of a resumed rank: reseeded apart
        trainer.generator.manual_seed(trainer.config.seed + trainer.rank_seed + trainer.update_count)
        for rng, c in zip(trainer.shuffle_rngs, trainer.members):
            rng.manual_seed(c.seed + trainer.rank_seed + trainer.update_count)
