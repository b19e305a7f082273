"""Categorical.logprob_entropy's C kernel (``_native.categorical_forward`` / ``_backward``,
``sailfish/_native/categorical.h``) against torch's ops, values and gradients."""
import pytest
import torch
import torch.nn.functional as F

from sailfish.policies import distributions
from sailfish.policies.distributions import Categorical, masked_logits

pytestmark = pytest.mark.skipif(not distributions.HAS_KERNEL, reason="needs the C core")


@pytest.fixture(autouse=True)
def every_batch(monkeypatch):
    monkeypatch.setattr(distributions, "KERNEL_MIN_ROWS", 1)  # the kernel on small batches too: every edge case


def torch_logprob_entropy(params, actions, masks=None):
    logp = F.log_softmax(masked_logits(params, masks), dim=-1)
    return logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1), -(logp.exp() * logp).sum(-1)


@pytest.mark.parametrize("shape, n, masked", [
    ((10, 64, 16), 2, False),  # a population minibatch [K, S, L] of cartpole's 2 actions
    ((37,), 7, True),          # connect4's 7 columns, with legal-move masks
    ((5, 3), 1, False),        # one action: logp 0, entropy 0
    ((2, 50), 18, True),       # Atari's full action set
])
def test_the_kernel_gives_torchs_logprobs_entropies_and_gradients(shape, n, masked):
    g = torch.Generator().manual_seed(0)
    out = (3 * torch.randn(*shape, n + 1, generator=g)).requires_grad_()  # logits beside a value column
    masks = torch.rand(*shape, n, generator=g) > 0.4 if masked else None
    if masked:
        masks[..., 0] = True  # every row keeps a legal action
    logits_for = lambda: out[..., :n]  # noqa: E731  (strided: rows n + 1 floats apart)
    probs = torch.rand(*shape, n, generator=g) * (masks if masked else 1) + (masks if masked else 0) * 1e-3
    actions = torch.multinomial(probs.reshape(-1, n), 1, generator=g).reshape(shape)  # legal ones
    up_logp, up_entropy = torch.randn(shape, generator=g), torch.randn(shape, generator=g)

    logp, entropy = Categorical(n).logprob_entropy(logits_for(), actions, masks)
    assert logp.grad_fn is not None and type(logp.grad_fn).__name__.startswith("_LogprobEntropy")
    grad = torch.autograd.grad([logp, entropy], [out], [up_logp, up_entropy])[0]
    want_logp, want_entropy = torch_logprob_entropy(logits_for(), actions, masks)
    want_grad = torch.autograd.grad([want_logp, want_entropy], [out], [up_logp, up_entropy])[0]
    torch.testing.assert_close(logp, want_logp, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(entropy, want_entropy, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad, want_grad, rtol=1e-5, atol=1e-5)
    assert torch.all(grad[..., n] == 0)  # the value column gets nothing from here
    if masked:  # a masked action has probability 0: no gradient reaches its logit
        assert torch.all(grad[..., :n][~masks] == 0)


def test_an_unused_entropy_and_an_action_out_of_range():
    out = torch.randn(6, 4).requires_grad_()
    actions = torch.tensor([0, 1, 2, 3, 0, 1])
    logp, _ = Categorical(4).logprob_entropy(out, actions)
    (grad,) = torch.autograd.grad(logp.sum(), [out])  # the entropy's gradient is None, not zeros
    want = torch.autograd.grad(torch_logprob_entropy(out, actions)[0].sum(), [out])[0]
    torch.testing.assert_close(grad, want)
    from sailfish import _native

    logits = torch.randn(2, 3)
    logp, entropy, lse = torch.empty(2), torch.empty(2), torch.empty(2)
    _native.categorical_forward(logits.numpy(), torch.tensor([3, -1]).numpy(), logp.numpy(), entropy.numpy(), lse.numpy())
    assert torch.isnan(logp).all() and torch.isfinite(entropy).all()  # NaN, not a read past the row
    with pytest.raises(ValueError, match="actions"):
        _native.categorical_forward(logits.numpy(), torch.tensor([0, 1, 2]).numpy(), logp.numpy(),
                                    entropy.numpy(), lse.numpy())
    with pytest.raises(ValueError, match="logits: must have contiguous rows"):
        _native.categorical_forward(logits.t().numpy(), torch.tensor([0, 1, 2]).numpy(), logp.numpy(),
                                    entropy.numpy(), lse.numpy())


def test_small_batches_keep_torchs_ops(monkeypatch):
    monkeypatch.setattr(distributions, "KERNEL_MIN_ROWS", 8192)
    out = torch.randn(1024, 3).requires_grad_()
    logp, _ = Categorical(2).logprob_entropy(out[:, :2], torch.zeros(1024, dtype=torch.long))
    assert not type(logp.grad_fn).__name__.startswith("_LogprobEntropy")
    logp, _ = Categorical(2).logprob_entropy(torch.randn(8192, 2, requires_grad=True), torch.zeros(8192, dtype=torch.long))
    assert type(logp.grad_fn).__name__.startswith("_LogprobEntropy")  # a population's minibatch takes it
