"""Advantages: GAE with V-trace-clipped importance ratios, dispatched to the C kernel or a torch fallback.

Per agent row, backwards over time (``ratio == 1`` gives plain GAE)::

    if terminal[t]: v_next = 0          ; cont = 0
    elif trunc[t]:  v_next = values[t]  ; cont = 0   # same-step autoreset: bootstrap from the last seen state
    else:           v_next = values[t+1]; cont = 1   # next_values[a] after the last step
    delta = min(ratio, rho_clip) * (r[t] + gamma * v_next - values[t])
    adv[t] = delta + gamma * lambda * min(ratio, c_clip) * cont * adv[t+1]
"""
from __future__ import annotations

import torch

try:
    from sailfish import _native
except ImportError:  # the package can be imported for docs / tests of pure-python pieces without the build
    _native = None


def native_kernel_available() -> bool:
    """True when the C advantage kernel was built into ``sailfish._native``."""
    return _native is not None and hasattr(_native, "compute_advantages")


def compute_advantages(values: torch.Tensor, rewards: torch.Tensor, terminals: torch.Tensor,
                       truncations: torch.Tensor, ratios: torch.Tensor, next_values: torch.Tensor,
                       advantages: torch.Tensor, gamma: float, gae_lambda: float,
                       rho_clip: float = 1.0, c_clip: float = 1.0) -> torch.Tensor:
    """Fill ``advantages`` ([A, T] float32) in place and return it.

    Args:
        values: [A, T] float32, value estimates of the observed states.
        rewards: [A, T] float32, reward of each transition.
        terminals, truncations: [A, T] bool, episode ended at this step by termination / time limit.
        ratios: [A, T] float32, pi_current / pi_behaviour of the taken action (1 = on-policy).
        next_values: [A] float32, value of the observation after the last step.
        gamma, gae_lambda: discount and trace decay; rho_clip, c_clip: V-trace clips.

    CPU tensors go to the C kernel when built (through zero-copy ``.numpy()`` views; all must be
    contiguous), anything else to a torch loop over T vectorised over agents.
    """
    if advantages.device.type == "cpu" and native_kernel_available():
        _native.compute_advantages(values.numpy(), rewards.numpy(), terminals.numpy(), truncations.numpy(),
                                   ratios.numpy(), next_values.numpy(), advantages.numpy(),
                                   float(gamma), float(gae_lambda), float(rho_clip), float(c_clip))
        return advantages
    return compute_advantages_torch(values, rewards, terminals, truncations, ratios, next_values, advantages,
                                    gamma, gae_lambda, rho_clip, c_clip)


def compute_advantages_torch(values, rewards, terminals, truncations, ratios, next_values, advantages,
                             gamma: float, gae_lambda: float, rho_clip: float = 1.0,
                             c_clip: float = 1.0) -> torch.Tensor:
    """The same recurrence in torch (GPU tensors, or CPU without the C build). Fills ``advantages``."""
    T = values.shape[1]
    terminals = terminals.to(values.dtype)
    truncations = truncations.to(values.dtype)
    # Precompute everything that does not depend on the recursion in a few large ops.
    alive = 1.0 - terminals
    cont = alive * (1.0 - truncations)
    v_next = torch.empty_like(values)
    v_next[:, :-1] = values[:, 1:]
    v_next[:, -1] = next_values
    # truncated: bootstrap from values[t]; terminal: 0 (terminal wins over truncation)
    v_next = alive * (cont * v_next + (1.0 - cont) * values)
    rho = ratios.clamp(max=rho_clip)
    deltas = rho * (rewards + gamma * v_next - values)
    decay = gamma * gae_lambda * ratios.clamp(max=c_clip) * cont
    adv = torch.zeros_like(next_values)
    for t in range(T - 1, -1, -1):
        adv = deltas[:, t] + decay[:, t] * adv
        advantages[:, t] = adv
    return advantages
