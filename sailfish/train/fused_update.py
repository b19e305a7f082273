"""A minibatch's PPO gradient in one C call, for MLP actor-critics with a categorical head.

``Trainer.update`` computes a minibatch's loss from torch ops and calls ``backward``: for a small
policy on CPU that is ~100 small ops, and the activations the backward needs make a round trip
through L3 (``BENCHMARKS.md``, session 7's profile). Where the policy and the minibatch allow it,
``FusedUpdate.gradients`` instead computes the same loss terms and parameter gradients with
``_native.ppo_gradient`` (``sailfish/_native/ppo_gradient.h``): each block of rows goes forward,
through the PPO loss's gradient and back while it is in cache. The optimizer step is unchanged.

It serves (``actor_critic_layers`` and ``FusedUpdate.build`` check, once per trainer; the same
policies act in rollouts through ``sailfish.train.fused_act``):
- the default feedforward MLP policy (``Policy`` over ``MLP``, no ``obs_norm``) or a population of
  them (``StackedPolicy``), with a ``Categorical`` head (one discrete action);
- CPU, one torch thread (the kernel runs on one core; on more threads torch's batched matmuls use
  every core), fp32: where ``precision = "auto"`` would pick bf16 matmuls (a CPU with AMX), the
  trainer picks fp32 and this kernel, which was faster there (``BENCHMARKS.md``); ``"bf16"`` asked
  for keeps torch's ops;
and, per minibatch (``takes``), one without prioritized weights (legal-action masks are applied as
the distribution applies them; padding rows weigh nothing, as the trainer's loss weighs them). The
rest goes through the autograd path, which stays the reference: ``tests/test_fused_update.py``
checks the two give the same gradients and loss terms. ``Config.fused_update = false`` always takes
the autograd path.
"""
from __future__ import annotations

import math

import torch

from sailfish.policies.distributions import Categorical
from sailfish.policies.models import MLP, Policy
from sailfish.policies.stacked import StackedPolicy

try:
    from sailfish import _native
except ImportError:  # docs and pure-Python tests without the build
    _native = None

HAS_KERNEL = _native is not None and hasattr(_native, "ppo_gradient")


def actor_critic_layers(policy, dist) -> tuple[list, float] | None:
    """The C kernels' view of ``policy``: its linear layers' ``(weight, bias)``, encoder first, the
    head (the logits, then the value) last, and the factor its observations are scaled by; None
    where the policy is not the default feedforward MLP (or a population of them) with a
    ``Categorical`` head, which the kernels compute (``sailfish.train.fused_act`` acts with them)."""
    if type(dist) is not Categorical:
        return None
    if isinstance(policy, StackedPolicy):
        found = policy.mlp_layers()
        if found is None:
            return None
        layers, scale = found
    elif (type(policy) is Policy and type(policy.encoder) is MLP and policy.encoder.norm is None
          and policy.log_std is None):
        layers = [(layer.weight, layer.bias) for layer in [*policy.encoder.linears, policy.head]]
        scale = policy.encoder.scale
    else:
        return None
    if layers[-1][1].shape[-1] != dist.n + 1:
        return None
    return layers, float(scale)


class FusedUpdate:
    """The C minibatch gradient for one trainer's policy (see the module docstring).

    ``layers``: the policy's linear layers' ``(weight, bias)`` parameters, encoder first, the head
    last (stacked ``[K, out, in]`` / ``[K, out]`` for a population, ``[out, in]`` / ``[out]`` for one
    policy); ``coefs``: ``[K, 4]`` clip_coef, vf_clip_coef, vf_coef, ent_coef per member.
    """

    def __init__(self, layers, scale: float, coefs: torch.Tensor, norm_adv: bool):
        self.members = K = coefs.shape[0]
        self.actions = layers[-1][1].shape[-1] - 1  # the head's outputs: the logits, then the value
        self.params = [p for layer in layers for p in layer]
        # the kernel's shapes: [K, out, in] and [K, out] (for one policy, views of its parameters)
        self.shapes = [(K, *p.shape[-2:]) if i % 2 == 0 else (K, p.shape[-1]) for i, p in enumerate(self.params)]
        self.scale, self.coefs, self.norm_adv = scale, coefs, norm_adv
        self._arrays_key = None  # the parameters' data pointers the cached arrays below were made for

    def _layer_arrays(self) -> tuple[list, list]:
        """The kernel's views of the parameters and of their gradient buffers (NumPy arrays sharing
        their memory), made once and again only if a parameter's storage moves. Keyed on data
        pointers, not version counters: the fused Adam kernel writes parameters without bumping
        those. The gradient buffers are reused minibatch after minibatch: each is ``.grad`` until
        the kernel overwrites it (the optimizer and clipping read it in between)."""
        key = tuple(p.data_ptr() for p in self.params)
        if key != self._arrays_key:
            self._grads = [torch.empty_like(p) for p in self.params]
            self._arrays = [p.detach().view(shape).numpy() for p, shape in zip(self.params, self.shapes)]
            self._grad_arrays = [g.view(shape).numpy() for g, shape in zip(self._grads, self.shapes)]
            self._arrays_key = key
        return self._arrays, self._grad_arrays

    @classmethod
    def build(cls, policy, dist, members, device: torch.device, threads: int) -> FusedUpdate | None:
        """A ``FusedUpdate`` for ``policy`` trained with ``members`` (the trainer's configs) on
        ``threads`` torch threads, or None where the kernel does not apply (then the autograd path
        runs). The kernel computes in fp32: the trainer leaves it out where bf16 is asked for."""
        if not HAS_KERNEL or device.type != "cpu" or threads != 1:
            return None
        found = actor_critic_layers(policy, dist)
        if found is None:
            return None
        layers, scale = found
        coefs = torch.tensor([[c.clip_coef, c.vf_clip_coef, c.vf_coef, c.ent_coef] for c in members],
                             dtype=torch.float32)
        return cls(layers, scale, coefs, bool(members[0].norm_adv))

    def takes(self, mb) -> bool:
        """Whether minibatch ``mb`` is one the kernel computes (no prioritized weights; masks one per
        logit)."""
        masks_fit = mb.action_masks is None or mb.action_masks.shape[-1] == self.actions
        return mb.weights is None and mb.state is None and masks_fit

    def gradients(self, mb) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sets each parameter's ``.grad`` to minibatch ``mb``'s loss gradient (the trainer's loss:
        each member's policy loss + vf_coef x value loss - ent_coef x entropy) and returns
        ``(policy_loss, value_loss, entropy, ratio)``: the loss terms (scalars, or ``[K]`` for a
        population) and each sample's probability ratio, shaped as ``mb.logprobs``."""
        K = self.members
        x = mb.obs.reshape(K, -1, math.prod(mb.obs.shape[3:]))
        if x.dtype != torch.float32:
            x = x.float()
        if self.scale != 1.0:
            x = x * self.scale
        x = x.contiguous()
        flat = [t.reshape(-1).contiguous() for t in (mb.actions, mb.logprobs, mb.advantages, mb.values, mb.returns)]
        arrays, grad_arrays = self._layer_arrays()
        masks = None if mb.action_masks is None else mb.action_masks.reshape(-1, self.actions).contiguous().numpy()
        live = None if mb.live is None else mb.live.reshape(-1).float().contiguous().numpy()
        ratio = torch.empty_like(flat[1])
        sums = torch.empty(K, 3, dtype=torch.float64)
        _native.ppo_gradient(x.numpy(), arrays[0::2], arrays[1::2], *(t.numpy() for t in flat), self.coefs.numpy(),
                             self.norm_adv, grad_arrays[0::2], grad_arrays[1::2], ratio.numpy(), sums.numpy(), masks, live)
        for p, g in zip(self.params, self._grads):
            p.grad = g
        rows = x.shape[1]
        terms = (sums / rows).float()
        policy_loss, value_loss, entropy = -terms[:, 0], 0.5 * terms[:, 1], terms[:, 2]
        if K == 1:
            policy_loss, value_loss, entropy = policy_loss[0], value_loss[0], entropy[0]
        return policy_loss, value_loss, entropy, ratio.view(mb.logprobs.shape)
