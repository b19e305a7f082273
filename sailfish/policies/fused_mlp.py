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

Where the C core is built, torch runs on one thread (a population's usual layout: one process per
core) and the batch is large (``KERNEL_MIN_ROWS`` rows per member: the update's minibatches, not a
rollout's few rows), the forward and the backward are each one call of ``_native.mlp_forward`` /
``mlp_backward`` (``sailfish/_native/mlp.h``): a block of rows goes through every layer while it is
in cache, through a register-tiled matmul, with bias and tanh done on the block. On more threads the
torch path above runs, whose batched matmuls use every thread. ``python benchmarks/population.py
--mlp`` measures both ways.

The forward packs the weights (transposed, padded to whole tiles) on every call. Packing once per
update would need to know when the weights change, and torch's fused Adam kernel
(``torch._fused_adam_``, which ours and ``torch.optim.Adam(fused=True)`` call) writes parameters
without bumping their version counters: a cache keyed on versions acted with stale weights. Solo
policies keep torch's layers: routed through this kernel as one member, a solo cartpole iteration
took the same time (33.7 vs 33.4 ms, interleaved medians), so the extra path was not kept.
"""
from __future__ import annotations

from typing import Sequence

import torch

from sailfish.policies.activations import tanh_, tanh_backward_

try:
    from sailfish import _native
except ImportError:  # docs and pure-Python tests without the build
    _native = None

HAS_KERNEL = _native is not None and hasattr(_native, "mlp_forward")


# Below this many rows per member the torch path is faster: the kernel packs the weights on every
# call (see the module docstring). Forward alone, one thread, best of 60 (benchmarks/population.py
# --mlp prints the minibatch case): K = 10 members x 16 rows 157 vs 119 us, x 128 rows 416 vs 443 us,
# x 1,024 rows 2,734 vs 3,457 us; K = 1 x 1,024 rows 297 vs 360 us.
KERNEL_MIN_ROWS = 128


def _arrays(tensors: Sequence[torch.Tensor]):
    """The tensors' memory as NumPy arrays when the C kernel takes them all (plain contiguous CPU
    float32 tensors; torch on one thread; the first is ``[K, rows >= KERNEL_MIN_ROWS, ...]``), else None."""
    if not HAS_KERNEL or torch.get_num_threads() != 1 or tensors[0].dim() < 2 or tensors[0].shape[1] < KERNEL_MIN_ROWS:
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


def mlp_forward(x: torch.Tensor, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The MLP above outside autograd: ``(out [K, B, out], each hidden layer's tanh output)``."""
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
