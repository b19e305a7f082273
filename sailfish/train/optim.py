"""Adam without ``torch.optim``.

Constructing any ``torch.optim`` optimizer imports ``torch._dynamo`` (about a second on a laptop CPU,
a third of our cartpole time-to-solve budget) and wraps every ``step``/``zero_grad`` in a dynamo guard.
This is the same update as ``torch.optim.Adam`` (no weight decay, no amsgrad) in a handful of
multi-tensor ``torch._foreach_*`` calls.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import torch


class Adam:
    """Adam (Kingma & Ba) over ``params``; ``param_groups[0]["lr"]`` is read at every step."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.param_groups = [{"params": self.params, "lr": lr, "betas": tuple(betas), "eps": eps}]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        group = self.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        params, grads, m, v = [], [], [], []
        for p, a, b in zip(self.params, self.exp_avg, self.exp_avg_sq):
            if p.grad is not None:
                params.append(p), grads.append(p.grad), m.append(a), v.append(b)
        if not params:
            return
        self.steps += 1
        bias1 = 1 - beta1 ** self.steps
        bias2_sqrt = math.sqrt(1 - beta2 ** self.steps)
        torch._foreach_lerp_(m, grads, 1 - beta1)
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, grads, grads, 1 - beta2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, bias2_sqrt)
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(params, m, denom, -lr / bias1)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "exp_avg": [t.clone() for t in self.exp_avg],
                "exp_avg_sq": [t.clone() for t in self.exp_avg_sq],
                "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = int(state["steps"])
        for dst, src in zip(self.exp_avg + self.exp_avg_sq, state["exp_avg"] + state["exp_avg_sq"]):
            dst.copy_(src)
        self.param_groups[0].update(state["param_groups"][0])


@torch.no_grad()
def clip_grad_norm_(params: list[torch.nn.Parameter], max_norm: float) -> torch.Tensor:
    """Scale gradients so their global L2 norm is at most ``max_norm``; returns the norm before clipping.

    Same result as ``torch.nn.utils.clip_grad_norm_`` in four multi-tensor ops (that one costs ~10x more
    per call on CPU, a fifth of a small policy's whole minibatch step).
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, (max_norm / (total + 1e-6)).clamp_(max=1.0))
    return total
