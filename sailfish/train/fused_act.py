"""A rollout step of an MLP actor-critic with a categorical head in one C call.

Through torch, a rollout step of a small policy is ~15 ops (three linear layers, two tanh, the
head's split, log-softmax, the Gumbel noise, argmax, gather) and their Python: ~190 us for 32 rows
of cartpole's 2x64 MLP on one core, where the arithmetic takes a few. A slow env's async collection
pays it on every batch, from the core the env workers step on, and a solo cartpole run spends half
its wallclock there. ``FusedAct`` does the same step with ``_native.mlp_act``
(``sailfish/_native/actor.h``): the forward of every row from weights packed once per collection,
then the sample. The Exp(1) draws still come from the trainer's torch generator, the same draws the
torch path takes, so the action stream differs from torch's only where float rounding of the logits
breaks a near tie.

It serves what ``FusedUpdate`` serves (``actor_critic_layers``: the default MLP policy or a
population of them, a ``Categorical`` head) on CPU, one torch thread, fp32, feedforward;
``Config.fused_act = false`` turns it off, and a policy wrapped by ``compile = true`` acts through
its compiled forward.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from sailfish.train.fused_update import actor_critic_layers

try:
    from sailfish import _native
except ImportError:  # docs and pure-Python tests without the build
    _native = None

HAS_KERNEL = _native is not None and hasattr(_native, "mlp_act")


class FusedAct:
    """Acts for a collector with ``dist`` (a ``Categorical``) through the C kernel.

    ``begin(policy)`` at the start of each collection takes the policy's weights as they are then
    (the acting policy does not change during a collection); ``__call__`` and ``value`` then act on
    batches of rows as ``policy`` would.
    """

    def __init__(self, dist):
        self.dist = dist
        self.members = 0
        self._packed: np.ndarray | None = None
        self._repack = True

    def begin(self, policy) -> bool:
        """Takes ``policy``'s current weights for the batches that follow; False where the kernel
        does not serve ``policy`` (the caller acts through torch)."""
        found = actor_critic_layers(policy, self.dist)
        if found is None or not HAS_KERNEL:
            return False
        layers, self.scale = found
        weight = layers[0][0]
        if weight.device.type != "cpu" or weight.dtype != torch.float32:
            return False
        K = self.members = weight.shape[0] if weight.dim() == 3 else 1
        self._weights = [w.detach().reshape(K, *w.shape[-2:]).numpy() for w, _ in layers]
        self._biases = [b.detach().reshape(K, b.shape[-1]).numpy() for _, b in layers]
        self._repack = True
        return True

    def _inputs(self, obs: torch.Tensor) -> np.ndarray:
        x = obs.reshape(self.members, obs.shape[0] // self.members, math.prod(obs.shape[1:]))
        if x.dtype != torch.float32:
            x = x.float()
        if self.scale != 1.0:
            x = x * self.scale
        return x.contiguous().numpy()

    def _run(self, obs: torch.Tensor, noise: torch.Tensor, action_masks) -> tuple[torch.Tensor, ...]:
        x = self._inputs(obs)
        if self._packed is None or self._repack:
            size = _native.mlp_packed_size(x, self._weights)
            if self._packed is None or self._packed.size != size:
                self._packed = np.empty(size, np.float32)
        rows = obs.shape[0]
        actions = torch.empty(rows, dtype=torch.int64)
        logprob, value = torch.empty(2, rows, dtype=torch.float32)  # one allocation: a step's cost is its overheads
        masks = None if action_masks is None else np.asarray(action_masks)
        _native.mlp_act(x, self._weights, self._biases, self._packed, self._repack, noise.numpy(), masks,
                        actions.numpy(), logprob.numpy(), value.numpy())
        self._repack = False
        return actions, logprob, value

    def __call__(self, obs: torch.Tensor, generator: torch.Generator, action_masks=None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(actions, logprob, value)`` for observations ``[rows, ...]`` (member-major for a
        population), sampled as ``Categorical.sample`` samples (its draws from ``generator``) under
        ``action_masks`` (bool ``[rows, n]``, True = legal; a tensor or array) or none."""
        noise = torch.empty(obs.shape[0], self.dist.n, dtype=torch.float32).exponential_(generator=generator)
        return self._run(obs, noise, action_masks)

    def mode(self, obs: torch.Tensor, action_masks=None) -> torch.Tensor:
        """The most likely legal action of each row (``Categorical.mode``): no draws are taken."""
        return self._run(obs, torch.ones(obs.shape[0], self.dist.n, dtype=torch.float32), action_masks)[0]

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """The value of each row of ``obs`` (a bootstrap value: no draws are taken)."""
        return self._run(obs, torch.ones(obs.shape[0], self.dist.n, dtype=torch.float32), None)[2]
