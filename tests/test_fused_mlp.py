"""The population MLP's C kernel (``_native.mlp_forward`` / ``mlp_backward``, ``sailfish/_native/mlp.h``)
against torch's autograd, through ``fused_mlp.batched_mlp`` as the trainer calls it."""
import types

import pytest
import torch

from sailfish.policies import fused_mlp

pytestmark = pytest.mark.skipif(not fused_mlp.HAS_KERNEL, reason="needs the C core")


@pytest.fixture
def one_thread(monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the kernel serves one-thread runs (a population per core)
    monkeypatch.setattr(fused_mlp, "KERNEL_MIN_ROWS", 1)  # and, here, small batches too: every edge case
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def kernel_calls(monkeypatch):
    """Counts the kernel's calls, so a test knows the C path ran and not the torch one."""
    calls = {"mlp_forward": 0, "mlp_backward": 0}
    native = fused_mlp._native

    def counted(name):
        def call(*args):
            calls[name] += 1
            return getattr(native, name)(*args)
        return call

    monkeypatch.setattr(fused_mlp, "_native", types.SimpleNamespace(**{n: counted(n) for n in calls}))
    return calls


def reference(x, weights, biases):
    h = x
    for w, b in zip(weights[:-1], biases[:-1]):
        h = torch.tanh(torch.baddbmm(b.unsqueeze(1), h, w.mT))
    return torch.baddbmm(biases[-1].unsqueeze(1), h, weights[-1].mT)


def network(members, rows, widths, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(members, rows, widths[0], generator=g)
    weights = [(torch.randn(members, o, i, generator=g) * 1.5 / i ** 0.5).requires_grad_()
               for i, o in zip(widths, widths[1:])]
    biases = [(0.2 * torch.randn(members, o, generator=g)).requires_grad_() for o in widths[1:]]
    upstream = torch.randn(members, rows, widths[-1], generator=g)
    return x, weights, biases, upstream


def outputs_and_gradients(out, weights, biases, upstream):
    return out, torch.autograd.grad(out, [*weights, *biases], upstream)


def assert_close_outputs(got, want):
    torch.testing.assert_close(got[0], want[0], rtol=1e-5, atol=1e-5)
    for g, w in zip(got[1], want[1]):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("members, rows, widths", [
    (10, 1024, [4, 64, 64, 3]),   # cartpole's population minibatch
    (3, 97, [4, 64, 64, 3]),      # a row block (96) and a tile (6) that do not divide the rows
    (1, 1, [4, 3]),               # one row, one layer
    (2, 7, [5, 17, 3]),           # widths that are no multiple of a tile's 8 or 16 columns
    (2, 200, [20, 33, 9, 1]),     # three layers, a one-wide output
    (1, 300, [130, 20, 200, 18]), # wider than a 16-column tile, and narrowing
])
def test_the_c_kernel_gives_autograds_values_and_gradients(one_thread, kernel_calls, members, rows, widths):
    x, weights, biases, upstream = network(members, rows, widths)
    expected = reference(x, weights, biases)
    got = outputs_and_gradients(fused_mlp.batched_mlp(x, weights, biases), weights, biases, upstream)
    assert kernel_calls == {"mlp_forward": 1, "mlp_backward": 1}
    assert_close_outputs(got, outputs_and_gradients(expected, weights, biases, upstream))


def test_the_c_kernel_and_the_torch_path_agree_and_members_stay_apart(one_thread, kernel_calls, monkeypatch):
    x, weights, biases, upstream = network(4, 150, [4, 64, 64, 3])
    out = fused_mlp.batched_mlp(x, weights, biases)
    grads = torch.autograd.grad(out, [*weights, *biases], upstream)
    # member 2's rows changed: members 0, 1 and 3 get bit-identical outputs and gradients
    x2 = x.clone()
    x2[2] = torch.randn(150, 4)
    out2 = fused_mlp.batched_mlp(x2, weights, biases)
    grads2 = torch.autograd.grad(out2, [*weights, *biases], upstream)
    for k in (0, 1, 3):
        assert torch.equal(out[k], out2[k])
        assert all(torch.equal(a[k], b[k]) for a, b in zip(grads, grads2))
    assert not torch.equal(out[2], out2[2])
    monkeypatch.setattr(fused_mlp, "HAS_KERNEL", False)  # the torch ops, which more threads use
    torch_path = outputs_and_gradients(fused_mlp.batched_mlp(x, weights, biases), weights, biases, upstream)
    assert kernel_calls == {"mlp_forward": 2, "mlp_backward": 2}
    assert_close_outputs((out, grads), torch_path)


def test_the_kernel_is_left_to_torch_where_it_does_not_apply(kernel_calls):
    x, weights, biases, upstream = network(2, fused_mlp.KERNEL_MIN_ROWS, [4, 16, 3])
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:  # more threads: torch's batched matmuls use them all
        torch.autograd.grad(fused_mlp.batched_mlp(x, weights, biases), weights, upstream)
    finally:
        torch.set_num_threads(threads)
    assert kernel_calls == {"mlp_forward": 0, "mlp_backward": 0}
    torch.set_num_threads(1)
    try:  # an input that needs its own gradient (the kernel leaves it out): torch's backward
        xg = x.clone().requires_grad_()
        grads = torch.autograd.grad(fused_mlp.batched_mlp(xg, weights, biases), [xg, *weights], upstream)
        expected = torch.autograd.grad(reference(xg, weights, biases), [xg, *weights], upstream)
        # float64: the C core does not take it
        torch.autograd.grad(fused_mlp.batched_mlp(x.double(), [w.double() for w in weights],
                                                  [b.double() for b in biases]), weights, upstream.double())
        # a rollout's few rows per member: the weights' packing would cost more than the kernel saves
        with torch.inference_mode():
            fused_mlp.mlp_forward(x[:, :16].contiguous(), weights, biases)
    finally:
        torch.set_num_threads(threads)
    assert kernel_calls == {"mlp_forward": 1, "mlp_backward": 0}
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_the_binding_names_the_array_whose_shape_is_wrong():
    from sailfish import _native

    x, weights, biases, _ = network(2, 8, [4, 16, 3])
    n = lambda t: t.detach().numpy()  # noqa: E731
    hidden, out = [torch.empty(2, 8, 16).numpy()], torch.empty(2, 8, 3).numpy()
    with pytest.raises(ValueError, match=r"biases\[1\] has shape \[2, 4\], expected \[2, 3\]"):
        _native.mlp_forward(n(x), [n(w) for w in weights], [n(biases[0]), torch.zeros(2, 4).numpy()], hidden, out)
    with pytest.raises(ValueError, match=r"weights\[1\] must be \[2, outputs, 16\]"):
        _native.mlp_forward(n(x), [n(weights[0]), torch.zeros(2, 3, 15).numpy()], [n(b) for b in biases], hidden, out)
    with pytest.raises(ValueError, match=r"hidden has 0 arrays, expected 1"):
        _native.mlp_forward(n(x), [n(w) for w in weights], [n(b) for b in biases], [], out)
    with pytest.raises(ValueError, match="float32"):
        _native.mlp_forward(x.double().numpy(), [n(w) for w in weights], [n(b) for b in biases], hidden, out)
    with pytest.raises(ValueError, match=r"grad_out has shape \[2, 8, 4\], expected \[2, 8, 3\]"):
        _native.mlp_backward(n(x), [n(w) for w in weights], hidden, torch.zeros(2, 8, 4).numpy(),
                             [torch.empty(2, 16, 4).numpy(), torch.empty(2, 3, 16).numpy()],
                             [torch.empty(2, 16).numpy(), torch.empty(2, 3).numpy()])


