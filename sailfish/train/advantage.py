"""Advantages: GAE with V-trace-clipped importance ratios, dispatched to the C kernel or a torch fallback.

Per agent row, backwards over time (``ratio == 1`` gives plain GAE)::

    if terminal[t]: v_next = 0          ; cont = 0
    elif trunc[t]:  v_next = values[t]  ; cont = 0   # same-step autoreset: bootstrap from the last seen state
    else:           v_next = values[t+1]; cont = 1   # next_values[a] after the last step
    delta = min(ratio, rho_clip) * (r[t] + gamma * v_next - values[t])
    adv[t] = delta + gamma * lambda * min(ratio, c_clip) * cont * adv[t+1]

Padding steps (``masks`` False: an opponent's turn in a turn-based game, a dead agent waiting to
respawn) are transparent: a live step's transition runs to the row's next live step (``t+1`` above),
collecting the rewards of the padding in between and the end of the episode if one of them ends it.
So the -1 of a game the opponent wins on its own move is the learner's previous move's reward, and
the value of a padding observation (never trained) is never bootstrapped from. A row whose last
observation is padding (``next_masks`` False) bootstraps its last live step as truncated.
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
                       rho_clip: float = 1.0, c_clip: float = 1.0, masks: torch.Tensor | None = None,
                       next_masks: torch.Tensor | None = None) -> torch.Tensor:
    """Fill ``advantages`` ([A, T] float32) in place and return it.

    Args:
        values: [A, T] float32, value estimates of the observed states.
        rewards: [A, T] float32, reward of each transition.
        terminals, truncations: [A, T] bool, episode ended at this step by termination / time limit.
        ratios: [A, T] float32, pi_current / pi_behaviour of the taken action (1 = on-policy).
        next_values: [A] float32, value of the observation after the last step.
        gamma, gae_lambda: discount and trace decay; rho_clip, c_clip: V-trace clips.
        masks: [A, T] bool, the agent acted on step t's observation (None: every step is live);
            padding steps are transparent (module docstring) and get advantage 0.
        next_masks: [A] bool, the same for the observation after the last step (None: live).

    CPU tensors go to the C kernel when built (through zero-copy ``.numpy()`` views; all must be
    contiguous), anything else to a torch loop over T vectorised over agents.
    """
    if next_masks is not None and masks is None:
        raise ValueError("next_masks: give masks as well (or neither)")
    if advantages.device.type == "cpu" and native_kernel_available():
        _native.compute_advantages(values.numpy(), rewards.numpy(), terminals.numpy(), truncations.numpy(),
                                   ratios.numpy(), next_values.numpy(), advantages.numpy(),
                                   float(gamma), float(gae_lambda), float(rho_clip), float(c_clip),
                                   None if masks is None else masks.numpy(),
                                   None if next_masks is None else next_masks.numpy())
        return advantages
    return compute_advantages_torch(values, rewards, terminals, truncations, ratios, next_values, advantages,
                                    gamma, gae_lambda, rho_clip, c_clip, masks, next_masks)


def compute_advantages_torch(values, rewards, terminals, truncations, ratios, next_values, advantages,
                             gamma: float, gae_lambda: float, rho_clip: float = 1.0,
                             c_clip: float = 1.0, masks=None, next_masks=None) -> torch.Tensor:
    """The same recurrence in torch (GPU tensors, or CPU without the C build). Fills ``advantages``."""
    if masks is not None:
        return _padded_advantages_torch(values, rewards, terminals, truncations, ratios, next_values, advantages,
                                        gamma, gae_lambda, rho_clip, c_clip, masks, next_masks)
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


def _padded_advantages_torch(values, rewards, terminals, truncations, ratios, next_values, advantages,
                             gamma, gae_lambda, rho_clip, c_clip, masks, next_masks) -> torch.Tensor:
    """``compute_advantages_torch`` with padding steps transparent (as the C kernel, advantage.h)."""
    T = values.shape[1]
    ends = terminals | truncations
    rho, c = ratios.clamp(max=rho_clip), ratios.clamp(max=c_clip)
    adv, next_value = torch.zeros_like(next_values), next_values.clone()
    # What the padding after the current step hands to the live step before it: reward and end.
    carried = torch.zeros_like(next_values)
    carried_term = torch.zeros_like(masks[:, 0])
    carried_trunc = torch.zeros_like(carried_term) if next_masks is None else ~next_masks
    for t in range(T - 1, -1, -1):
        live, end, r, v = masks[:, t], ends[:, t], rewards[:, t], values[:, t]
        term = torch.where(end, terminals[:, t], carried_term)
        trunc = torch.where(end, truncations[:, t] & ~terminals[:, t], carried_trunc)
        reward = torch.where(end, r, r + carried)
        v_next = torch.where(term, 0.0, torch.where(trunc, v, next_value))
        cont = (~(term | trunc)).to(values.dtype)
        step_adv = rho[:, t] * (reward + gamma * v_next - v) + gamma * gae_lambda * c[:, t] * cont * adv
        advantages[:, t] = torch.where(live, step_adv, 0.0)
        adv = torch.where(live, step_adv, adv)
        next_value = torch.where(live, v, next_value)
        carried = torch.where(live, 0.0, torch.where(end, r, r + carried))
        carried_term = ~live & torch.where(end, terminals[:, t], carried_term)
        carried_trunc = ~live & torch.where(end, truncations[:, t] & ~terminals[:, t], carried_trunc)
    return advantages
