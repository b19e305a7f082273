"""A population's MLP (tanh hidden layers, linear output) as one autograd node with a hand-written backward.

``batched_mlp(x, weights, biases)`` computes, for every member k at once (``x`` is ``[K, B, in]``,
``weights[i]`` ``[K, out_i, in_i]``, ``biases[i]`` ``[K, out_i]``)::

    h = x
    for W, b in hidden layers:  h = tanh(h @ W^T + b)
    out = h @ W_last^T + b_last

The same values as composing ``torch.baddbmm`` and ``tanh`` under autograd, and the same gradients to
float rounding (``tests/test_population.py``), but cheaper on CPU, where a population's update spends
its time (``benchmarks/population.py``):
- the activations are made and used in place, so each layer's forward writes one tensor, not four;
- tanh is the C core's (``sailfish.policies.activations``), and the backward multiplies by
  ``1 - h^2`` in place, in one pass over the saved outputs;
- each gradient matmul is written in the operand order that runs fast for its shape. The first
  layer's weight gradient is ``(x^T g)^T``: for a 4-wide input it ran 6x faster than ``g^T x``, the
  order autograd uses (157 vs 1,015 us for 10 x 1024 samples, one thread, measured in the same run).

Where the C core is built and torch runs on one thread (a population's usual layout: one process per
core), the forward and the backward are each one call of ``_native.mlp_forward`` / ``mlp_backward``
(``sailfish/_native/mlp.h``): a block of rows goes through every layer while it is in cache, through a
register-tiled matmul, with bias and tanh done on the block. On more threads the torch path above
runs, whose batched matmuls use every thread. ``python benchmarks/population.py --mlp`` measures both.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from sailfish.policies.activations import tanh_, tanh_backward_

try:
    from sailfish import _native
except ImportError:  # docs and pure-Python tests without the build
    _native = None

HAS_KERNEL = _native is not None and hasattr(_native, "mlp_forward")


def _arrays(tensors: Sequence[torch.Tensor]):
    """The tensors' memory as NumPy arrays when the C kernel takes them all (plain contiguous CPU
    float32 tensors; torch on one thread), else None."""
    if not HAS_KERNEL or torch.get_num_threads() != 1:
        return None
    arrays = []
    for t in tensors:
        if t.device.type != "cpu" or t.dtype != torch.float32 or not t.is_contiguous():
            return None
        try:
            arrays.append(t.detach().numpy())
        except (RuntimeError, TypeError):  # a tensor without plain storage (vmap's batched tensors)
            return None
    return arrays


def _native_forward(x, weights, biases, arrays) -> tuple[torch.Tensor, list[torch.Tensor]]:
    n = len(weights)
    K, B = x.shape[0], x.shape[1]
    hidden = [x.new_empty(K, B, w.shape[1]) for w in weights[:-1]]
    out = x.new_empty(K, B, weights[-1].shape[1])
    _native.mlp_forward(arrays[0], arrays[1:n + 1], arrays[n + 1:], [h.numpy() for h in hidden], out.numpy())
    return out, hidden


class PackedWeights:
    """The forward kernel's packed copy of an MLP's weights (``_native.mlp_pack``), for a policy whose
    weights serve many forwards between updates (a rollout's steps): packing K members' weights costs
    about what a 16-row forward does. Repacked whenever a weight or bias has changed since: torch
    bumps a tensor's version on every in-place write (optimizer steps, ``copy_``,
    ``load_state_dict``); writes through ``.data`` bypass that and are not seen."""

    def __init__(self):
        self._key = None
        self.packed: np.ndarray | None = None
        self.widths: tuple[int, ...] = ()

    def get(self, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]) -> "PackedWeights | None":
        """Self, packed for these tensors; None where the kernel does not apply (see ``_arrays``)."""
        if not HAS_KERNEL or torch.get_num_threads() != 1:
            return None
        key = tuple((t.data_ptr(), t._version) for t in (*weights, *biases))
        if key != self._key:
            arrays = _arrays([*weights, *biases])
            if arrays is None:
                return None
            n = len(weights)
            self.packed = np.empty(_native.mlp_packed_size(arrays[:n]), np.float32)
            _native.mlp_pack(arrays[:n], arrays[n:], self.packed)
            self.widths = (weights[0].shape[2], *(w.shape[1] for w in weights))
            self._key = key
        return self


def mlp_forward(x: torch.Tensor, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor],
                packed: PackedWeights | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The MLP above outside autograd: ``(out [K, B, out], each hidden layer's tanh output)``.
    ``packed``: these weights already packed for the C kernel (``PackedWeights.get``)."""
    if packed is not None and _arrays([x]) is not None:
        K, B = x.shape[0], x.shape[1]
        hidden = [x.new_empty(K, B, w) for w in packed.widths[1:-1]]
        out = x.new_empty(K, B, packed.widths[-1])
        _native.mlp_forward_packed(x.numpy(), packed.widths, packed.packed, [h.numpy() for h in hidden], out.numpy())
        return out, hidden
    arrays = _arrays([x, *weights, *biases])
    if arrays is not None:
        return _native_forward(x, weights, biases, arrays)
    hidden = []
    h = x
    for W, b in zip(weights[:-1], biases[:-1]):
        h = tanh_(torch.baddbmm(b.unsqueeze(1), h, W.mT))
        hidden.append(h)
    return torch.baddbmm(biases[-1].unsqueeze(1), h, weights[-1].mT), hidden


class _BatchedMLP(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, *params):
        n = len(params) // 2
        weights, biases = params[:n], params[n:]
        out, hidden = mlp_forward(x, weights, biases)
        ctx.save_for_backward(x, *weights, *hidden)
        ctx.num_layers = n
        return out

    @staticmethod
    def backward(ctx, grad_out):
        n = ctx.num_layers
        saved = ctx.saved_tensors
        x, weights, hidden = saved[0], saved[1:n + 1], saved[n + 1:]
        inputs = (x, *hidden)  # the input of each layer
        grad_w, grad_b = [None] * n, [None] * n
        g = grad_out.contiguous()
        arrays = None if ctx.needs_input_grad[0] else _arrays([x, *weights, *hidden, g])
        if arrays is not None:  # the C kernel (it leaves out the input's gradient)
            grad_w = [torch.empty_like(w) for w in weights]
            grad_b = [w.new_empty(w.shape[:2]) for w in weights]
            _native.mlp_backward(arrays[0], arrays[1:n + 1], arrays[n + 1:-1], arrays[-1],
                                 [t.numpy() for t in grad_w], [t.numpy() for t in grad_b])
            return (None, *grad_w, *grad_b)
        for i in reversed(range(n)):
            inp = inputs[i]
            # [K, out, in]: the narrow operand on the left (see the module docstring)
            grad_w[i] = torch.bmm(inp.mT, g).mT if inp.shape[-1] < g.shape[-1] else torch.bmm(g.mT, inp)
            grad_b[i] = g.sum(1)
            if i > 0:
                g = torch.bmm(g, weights[i])
                g = tanh_backward_(g, inputs[i])  # g * (1 - h^2), in place
            elif ctx.needs_input_grad[0]:
                grad_x = torch.bmm(g, weights[0])
        return (grad_x if ctx.needs_input_grad[0] else None, *grad_w, *grad_b)


def batched_mlp(x: torch.Tensor, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[K, B, out]``: the MLP above on ``x`` ``[K, B, in]``, one autograd node (see the module docstring)."""
    if len(weights) != len(biases) or not weights:
        raise ValueError("batched_mlp: needs one bias per weight, at least one layer")
    return _BatchedMLP.apply(x, *weights, *biases)
