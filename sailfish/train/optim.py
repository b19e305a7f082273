"""Adam without ``torch.optim``.

Constructing any ``torch.optim`` optimizer imports ``torch._dynamo`` and wraps every
``step``/``zero_grad`` in a dynamo guard. This is the same update as ``torch.optim.Adam`` (no weight
decay, no amsgrad), calling the kernel that ``torch.optim.Adam(fused=True)`` calls, without that
optimizer's Python around it. Measured with ``python benchmarks/optim.py`` (torch 2.13 CPU, 1 thread,
a 2-core machine shared with other work, load 0.5-1.8): best of 15 repeats, the range over runs
(medians ran up to 1.4x higher under load).

===================================  ==============  ==============  ==========================
per call, best                       cartpole step   breakout step   first construction + step
===================================  ==============  ==============  ==========================
this Adam (fused kernel)             18 us           34 us           0.2 ms
this Adam before (``_foreach`` ops)  101-107 us      140-143 us      0.4 ms
``torch.optim.Adam(fused=True)``     89-93 us        104-111 us      1,170-1,420 ms
``torch.optim.Adam(foreach=True)``   230-237 us      268-287 us      1,310-1,570 ms
===================================  ==============  ==============  ==========================

(cartpole: the 4-64-64 MLP with a 3-output head; breakout: 114-128-128, head 4; import torch itself,
~1.4 s, is the same for all.) A cartpole run makes at most 1,470 Adam steps: with ``torch.optim`` it
would spend 1.4-2.4 s more on the optimizer, more than its whole ~1.3 s time-to-solve, and no variant is
faster per ``zero_grad`` + ``step``, so none pays its start-up back. The fused kernel saves ~0.12 s of a
cartpole run over the ``_foreach`` version (its row was measured before the switch).
"""
from __future__ import annotations

from typing import Any, Iterable

import torch


class Adam:
    """Adam (Kingma & Ba) over ``params``; ``param_groups[0]["lr"]`` is read at every step.

    Args:
        params: the tensors to optimize; those with ``requires_grad=False`` are left out.
        lr: learning rate (step size).
        betas: decay rates of the running means of the gradient and of its square.
        eps: added to the root of the second moment, for stability.
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, members: int = 1):
        self.params = [p for p in params if p.requires_grad]
        self.param_groups = [{"params": self.params, "lr": lr, "betas": tuple(betas), "eps": eps}]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = 0
        self._step_tensors: dict[torch.device, torch.Tensor] = {}  # the kernel reads the count as a tensor
        # A population (members > 1): every tensor is [K, ...]; "lr" may be a list of K rates, and a
        # member whose rate is 0 is skipped (its moments and step count stay as they are).
        self.members = int(members)
        self.member_steps = [0] * self.members

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero, with ``set_to_none=False``) the gradients of every parameter."""
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter that has a gradient (none: no update, no step counted)."""
        group = self.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        if self.members > 1:
            return self._member_step(lr, beta1, beta2, eps)
        # The fused kernel takes one device and dtype per call (a policy has one of each: one call).
        groups: dict[tuple[torch.device, torch.dtype], tuple[list, list, list, list]] = {}
        for p, a, b in zip(self.params, self.exp_avg, self.exp_avg_sq):
            if p.grad is not None:
                lists = groups.setdefault((p.device, p.dtype), ([], [], [], []))
                lists[0].append(p), lists[1].append(p.grad), lists[2].append(a), lists[3].append(b)
        if not groups:
            return
        self.steps += 1
        for (device, _), (params, grads, m, v) in groups.items():
            count = self._step_tensors.get(device)
            if count is None:
                count = self._step_tensors[device] = torch.zeros((), dtype=torch.float32, device=device)
            count.fill_(self.steps)
            # Applies the bias corrections from the step count itself; one shared count tensor, read only.
            torch._fused_adam_(params, grads, m, v, [], [count] * len(params), lr=float(lr), beta1=beta1,
                               beta2=beta2, weight_decay=0.0, eps=eps, amsgrad=False, maximize=False)

    def _member_step(self, lr, beta1: float, beta2: float, eps: float) -> None:
        """Adam on the stacked ``[K, ...]`` tensors, each member with its own rate and step count.

        Members that share a step count (all of them, unless some were paused) get one fused kernel
        call at rate 1 into zeroed scratch tensors: the kernel updates their moments and writes each
        one's bias-corrected step direction, which is then added to the parameters times each member's
        rate (one multi-tensor op). Members whose rate is 0 are left out: their moments and step
        counts stay as they are. At K = 10 on cartpole's policy one step took 185 us (median 227)
        against 602 us (786) for the fused kernel called per member over its slices, the way it
        stepped before (``python benchmarks/optim.py --members 10``).
        """
        rates = lr if isinstance(lr, (list, tuple)) else [lr] * self.members
        live = [(p, a, b) for p, a, b in zip(self.params, self.exp_avg, self.exp_avg_sq) if p.grad is not None]
        by_step: dict[int, list[int]] = {}
        for k, rate in enumerate(rates):
            if rate > 0:
                by_step.setdefault(self.member_steps[k] + 1, []).append(k)
        if not live:
            return
        device = live[0][0].device
        for step, ks in by_step.items():
            for k in ks:
                self.member_steps[k] = step
            index = None if len(ks) == self.members else torch.tensor(ks, device=device)
            pick = (lambda t: t) if index is None else (lambda t: t.index_select(0, index))  # noqa: E731
            grads, m, v = ([pick(t) for t in ts] for ts in zip(*((p.grad, a, b) for p, a, b in live)))
            directions = [torch.zeros_like(g) for g in grads]
            count = torch.tensor(float(step), device=device)
            torch._fused_adam_(directions, grads, m, v, [], [count] * len(grads), lr=1.0, beta1=beta1,
                               beta2=beta2, weight_decay=0.0, eps=eps, amsgrad=False, maximize=False)
            member_rates = torch.tensor([float(rates[k]) for k in ks], device=device)
            torch._foreach_mul_(directions, [member_rates.view((len(ks),) + (1,) * (g.dim() - 1)) for g in grads])
            if index is None:
                torch._foreach_add_([p for p, _, _ in live], directions)
            else:
                for (p, a, b), d, m_k, v_k in zip(live, directions, m, v):
                    p.index_add_(0, index, d)
                    a.index_copy_(0, index, m_k)
                    b.index_copy_(0, index, v_k)
        self.steps = max(self.member_steps)

    def member_state_dict(self, k: int) -> dict[str, Any]:
        """Member k's state in the format of a one-member ``state_dict`` (an ordinary run's checkpoint)."""
        group = {key: value for key, value in self.param_groups[0].items() if key != "params"}
        if isinstance(group["lr"], (list, tuple)):
            group["lr"] = float(group["lr"][k])
        return {"steps": self.member_steps[k], "exp_avg": [t[k].clone() for t in self.exp_avg],
                "exp_avg_sq": [t[k].clone() for t in self.exp_avg_sq], "param_groups": [group]}

    @torch.no_grad()
    def load_member_state_dict(self, k: int, state: dict[str, Any]) -> None:
        """Restore member k from a one-member ``state_dict`` (checked as ``load_state_dict`` checks)."""
        for key in ("exp_avg", "exp_avg_sq"):
            saved = state[key]
            if len(saved) != len(self.params) or any(
                    not isinstance(src, torch.Tensor) or src.shape != p.shape[1:] for src, p in zip(saved, self.params)):
                raise ValueError(f"optimizer state of member {k}: {key} does not match this population's policy "
                                 "(saved for a different policy or hidden_size?)")
        self.member_steps[k] = int(state["steps"])
        for dst, src in zip(self.exp_avg + self.exp_avg_sq, state["exp_avg"] + state["exp_avg_sq"]):
            dst[k].copy_(src)

    def state_dict(self) -> dict[str, Any]:
        """Step count, both moment estimates (copies) and the hyperparameters: what a resumed run needs."""
        return {"steps": self.steps, "exp_avg": [t.clone() for t in self.exp_avg],
                "exp_avg_sq": [t.clone() for t in self.exp_avg_sq],
                "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` gave, for the same parameters in the same order.

        Raises ``ValueError`` naming the mismatch (number of tensors, a shape), before changing anything,
        when ``state`` was saved for other parameters: a checkpoint of a different policy or hidden_size.
        """
        for key in ("exp_avg", "exp_avg_sq"):
            saved = state[key]
            if len(saved) != len(self.params):
                raise ValueError(f"optimizer state: {key} holds {len(saved)} tensors but this optimizer has "
                                 f"{len(self.params)} parameters (saved for a different policy?)")
            for i, (src, param) in enumerate(zip(saved, self.params)):
                if not isinstance(src, torch.Tensor):
                    raise ValueError(f"optimizer state: {key}[{i}] is a {type(src).__name__}, not a tensor")
                if src.shape != param.shape:
                    raise ValueError(f"optimizer state: {key}[{i}] has shape {tuple(src.shape)} but parameter "
                                     f"{i} has shape {tuple(param.shape)} (saved for a different policy or "
                                     f"hidden_size?)")
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
