"""K policies of one shape as one module: a population's members, evaluated in one batched call.

``StackedPolicy(policies)`` stacks the members' parameters along a leading member dimension
(``torch.func.stack_module_state``) and speaks the ordinary policy interface on *flat* rows ordered
member-major: rows ``[k * B, (k + 1) * B)`` of an input of ``K * B`` rows belong to member k. So the
trainer's collection and update code is the same for one policy and for K; only the reductions that
must stay per member (losses, advantage normalisation, gradient clipping, Adam's step) know K.

Two ways to evaluate the members, measured in ``benchmarks/population.py``:
- the actor-critic MLP (``Policy`` over ``MLP``) runs as ``baddbmm`` per layer, one batched matmul
  for all members;
- anything else feedforward (CNN, the mmo encoder, your own module) runs through
  ``torch.func.vmap`` over ``functional_call``, which works for any module made of vmappable ops.
LSTM policies are refused: their segment pass branches on the data, which vmap cannot batch.
Members never mix: member k's outputs and gradients depend only on member k's rows and weights.
"""
from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from sailfish.policies.fused_mlp import batched_mlp, mlp_forward
from sailfish.policies.models import MLP, Policy


class StackedPolicy(nn.Module):
    """``policies`` (same class and shapes) as one module with stacked parameters.

    Raises ``ValueError`` when the members' parameter names or shapes differ, or when a member
    normalises observations (its running statistics are not per member yet).
    """

    def __init__(self, policies: Sequence[nn.Module]):
        super().__init__()
        if not policies:
            raise ValueError("population: needs at least one member policy")
        first = policies[0]
        shapes = [(n, tuple(p.shape)) for n, p in first.state_dict().items()]
        for k, member in enumerate(policies[1:], 1):
            if [(n, tuple(p.shape)) for n, p in member.state_dict().items()] != shapes:
                raise ValueError(f"population: member {k}'s policy has other parameters than member 0's "
                                 "(every member needs the same policy shape: hidden_size, encoder, recurrent)")
        if getattr(first, "is_recurrent", False):
            raise ValueError("recurrent: LSTM policies are not supported in a population (the segment pass "
                             "branches on the data, which vmap cannot batch); train them one by one")
        if getattr(first, "observation_norm", lambda: None)() is not None:
            raise ValueError("obs_norm: not supported in a population yet (its statistics would be shared); "
                             "set obs_norm = false or train the members one by one")
        self.num_members = len(policies)
        self.dist = first.dist
        self.is_recurrent = False
        params, buffers = stack_module_state(list(policies))
        self._param_names = list(params)
        self._buffer_names = list(buffers)
        for name, p in params.items():
            self.register_parameter(name.replace(".", "__"), nn.Parameter(p.detach().clone()))
        for name, b in buffers.items():
            self.register_buffer(name.replace(".", "__"), b.clone())
        # A weightless copy of member 0 to call functionally (its own tensors are never used).
        self._base = [copy.deepcopy(first).to("meta")]  # a list: not a registered submodule
        self._fast_mlp = isinstance(first, Policy) and type(first.encoder) is MLP and first.log_std is None
        if self._fast_mlp:
            self._scale = first.encoder.scale
            self._num_params = first.num_params
            self._linears = [n.rsplit(".", 1)[0] for n in self._param_names if n.endswith(".weight")]

    # ---------------------------------------------------------------- stacked tensors by name
    def stacked(self, name: str) -> torch.Tensor:
        """The ``[K, ...]`` tensor of parameter or buffer ``name`` (a member policy's key)."""
        return getattr(self, name.replace(".", "__"))

    def _tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        return ({n: self.stacked(n) for n in self._param_names}, {n: self.stacked(n) for n in self._buffer_names})

    def member_parameters(self) -> list[torch.Tensor]:
        """The stacked parameters, in the members' ``parameters()`` order."""
        return [self.stacked(n) for n in self._param_names]

    def mlp_layers(self) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], float] | None:
        """For members that are the actor-critic MLP: each linear layer's stacked ``(weight [K, out,
        in], bias [K, out])``, encoder first and the head last, and the scale applied to observations
        before the first (``sailfish.train.fused_update`` takes them); None for other policies."""
        if not self._fast_mlp:
            return None
        return [(self.stacked(f"{n}.weight"), self.stacked(f"{n}.bias")) for n in self._linears], self._scale

    def member_state_dict(self, k: int) -> OrderedDict:
        """Member k's ``state_dict()``, as its own policy would give it (copies)."""
        return OrderedDict((n, self.stacked(n)[k].detach().clone()) for n in self._param_names + self._buffer_names)

    @torch.no_grad()
    def load_member_state_dict(self, k: int, state: dict) -> None:
        """Set member k's tensors from an ordinary policy ``state_dict()``; keys and shapes must match."""
        expected = set(self._param_names + self._buffer_names)
        if set(state) != expected:
            raise ValueError(f"population member {k}: checkpoint keys differ from the policy's "
                             f"(missing {sorted(expected - set(state))}, unexpected {sorted(set(state) - expected)})")
        for n, value in state.items():
            target = self.stacked(n)[k]
            if target.shape != value.shape:
                raise ValueError(f"population member {k}: {n} has shape {tuple(value.shape)}, "
                                 f"the policy's is {tuple(target.shape)}")
            target.copy_(value)

    # ---------------------------------------------------------------- the policy interface
    def _split(self, x: torch.Tensor) -> torch.Tensor:
        K = self.num_members
        return x.reshape(K, x.shape[0] // K, *x.shape[1:])

    def forward(self, obs: torch.Tensor, state=None):
        """Flat rows ``[K * B, ...]`` (member-major) → flat ``(params, values, state)``."""
        if self._fast_mlp:
            params, values = self._mlp(self._split(obs))
            return params.flatten(0, 1), values.flatten(0, 1), None
        weights, buffers = self._tensors()

        def one(w, b, x):
            params, values, _ = functional_call(self._base[0], (w, b), (x, None))
            return params, values

        params, values = vmap(one)(weights, buffers, self._split(obs))
        return params.flatten(0, 1), values.flatten(0, 1), None

    def _mlp(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.reshape(x.shape[0], x.shape[1], -1)
        if x.dtype != torch.float32:
            x = x.float()
        if self._scale != 1.0:
            x = x * self._scale
        weights = [self.stacked(f"{name}.weight") for name in self._linears]
        biases = [self.stacked(f"{name}.bias") for name in self._linears]
        # the update: one autograd node for the whole MLP; a rollout: the same forward, nothing kept
        out = batched_mlp(x, weights, biases) if torch.is_grad_enabled() else mlp_forward(x, weights, biases)[0]
        return out[..., :self._num_params], out[..., self._num_params]

    def initial_state(self, batch: int, device) -> None:
        return None

    def observation_norm(self) -> None:
        return None


def make_member_policies(env, configs) -> nn.Module:
    """Each config's default policy (``make_policy``), initialised from its own seed (torch's global
    generator is left as it was): the policy itself for one config, a ``StackedPolicy`` for several."""
    from sailfish.policies.models import make_policy

    policies = []
    for config in configs:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            policies.append(make_policy(env, config))
    return policies[0] if len(policies) == 1 else StackedPolicy(policies)
