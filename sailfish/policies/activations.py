"""tanh at the hardware's speed on CPU.

torch 2.13's CPU ``tanh`` kernel runs ~3x slower than its ``sigmoid`` on AVX2, and a population's or
a big minibatch's MLP spends a third of its update in tanh. Where the C core is built, tanh of a
CPU float32 tensor is ``_native.tanh_`` (``sailfish/_native/activations.h``: one vectorised pass,
max abs error 2e-7, a float32 ulp near 1), and its backward ``grad * (1 - y^2)`` one pass of
``_native.tanh_backward_``. Without it, large tensors take ``2 sigmoid(2x) - 1`` in four torch passes
(2.5x faster than ``torch.tanh``) and small ones ``torch.tanh``. Measured on 10 x 1024 x 64 floats,
one thread, in one run: ``python benchmarks/population.py --tanh``.
"""
from __future__ import annotations

import torch

try:
    from sailfish import _native
except ImportError:  # docs and pure-Python tests without the build
    _native = None

# Below this many elements the four torch passes cost more than torch.tanh's one (measured: 16 x 64
# is 3x slower, 1024 x 64 2.2x faster).
FAST_MIN_ELEMENTS = 8192
HAS_KERNEL = _native is not None and hasattr(_native, "tanh_")


def _as_array(x: torch.Tensor):
    """``x``'s memory as a NumPy array when the C kernels can take it (a plain, contiguous CPU float32
    tensor), else None (a functorch-batched tensor, another device or dtype)."""
    if not HAS_KERNEL or x.device.type != "cpu" or x.dtype != torch.float32 or not x.is_contiguous():
        return None
    try:
        return x.detach().numpy()
    except (RuntimeError, TypeError):  # a tensor without plain storage (vmap's batched tensors)
        return None


def tanh_(x: torch.Tensor) -> torch.Tensor:
    """In-place ``tanh`` of a tensor outside autograd (the fast way on CPU); returns it."""
    array = _as_array(x)
    if array is not None:
        _native.tanh_(array)
        return x
    if x.device.type != "cpu" or x.numel() < FAST_MIN_ELEMENTS or x.dtype != torch.float32:
        return x.tanh_()
    return x.mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)


def tanh_backward_(grad: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``grad * (1 - y^2)``, in place in ``grad`` where the C kernel takes both (else a new tensor)."""
    g, out = _as_array(grad), _as_array(y)
    if g is not None and out is not None and grad.shape == y.shape:
        _native.tanh_backward_(g, out)
        return grad
    return torch.ops.aten.tanh_backward(grad, y)


class _Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = tanh_(x.clone(memory_format=torch.contiguous_format))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return tanh_backward_(grad.clone(memory_format=torch.contiguous_format), y)  # one copy, then in place


def tanh(x: torch.Tensor) -> torch.Tensor:
    """``torch.tanh`` (to within 2e-7), the fast way for CPU tensors."""
    if x.device.type != "cpu" or x.dtype != torch.float32 or (not HAS_KERNEL and x.numel() < FAST_MIN_ELEMENTS):
        return torch.tanh(x)
    if torch.is_grad_enabled():
        # Under torch.func.vmap (a population's policies other than the plain MLP) requires_grad is
        # False on the batched input while autograd still records, and would see the in-place passes.
        return _Tanh.apply(x) if x.requires_grad else torch.tanh(x)
    return tanh_(x.clone(memory_format=torch.contiguous_format))
