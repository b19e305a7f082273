"""Action distributions as stateless helpers over a flat parameter tensor ``params [..., param_size]``.

Each has ``sample(params, generator=None) -> (actions, logprob)`` for rollouts (``generator``: a
``torch.Generator`` on the params' device; None uses torch's global one),
``logprob_entropy(params, actions) -> (logprob, entropy)`` and ``logprob(params, actions)`` for the
update, and ``mode(params)`` for greedy evaluation.

The discrete ones take an optional legal-action mask ``action_masks`` (bool ``[..., param_size]``,
True = legal; ``env.action_masks``): masked logits are replaced by ``MASKED_LOGIT`` first, so a
masked action is never sampled and log-probabilities and entropies are the masked distribution's. Plain tensor ops rather than
``torch.distributions``: no argument validation and fewer ops per call, which is what costs on CPU.
"""
from __future__ import annotations

import math

import gymnasium
import numpy as np
import torch
import torch.nn.functional as F

try:
    from sailfish import _native
except ImportError:  # docs and pure-Python tests without the build
    _native = None

HAS_KERNEL = _native is not None and hasattr(_native, "categorical_forward")

# Large and finite rather than -inf: exp() of it underflows to exactly 0, so a masked action adds
# nothing to the entropy (0 x -1e9 = 0, where 0 x -inf is NaN), and a row whose every action is
# masked (which the adapters never write) would give a uniform distribution instead of NaNs.
MASKED_LOGIT = -1e9


def masked_logits(params: torch.Tensor, action_masks: torch.Tensor | None) -> torch.Tensor:
    """``params`` with illegal actions' logits set to ``MASKED_LOGIT`` (``params`` itself without a mask)."""
    return params if action_masks is None else params.masked_fill(~action_masks, MASKED_LOGIT)


def _rows(logits: torch.Tensor) -> torch.Tensor | None:
    """``logits [..., n]`` as a ``[rows, n]`` view with one row stride (the C kernel's layout: a slice
    of a wider output qualifies), or None where it is not one (or not a CPU float32 tensor)."""
    if (logits.device.type != "cpu" or logits.dtype != torch.float32 or logits.dim() < 1
            or logits.numel() == 0 or logits.stride(-1) != 1):
        return None
    n = logits.shape[-1]
    ld = logits.stride(-2) if logits.dim() >= 2 else n
    for i in range(logits.dim() - 2):  # the leading dimensions must collapse into one of stride ld
        if logits.shape[i] > 1 and logits.stride(i) != ld * math.prod(logits.shape[i + 1:-1]):
            return None
    return logits.as_strided((logits.numel() // n, n), (ld, 1))


class _LogprobEntropy(torch.autograd.Function):
    """``Categorical.logprob_entropy`` as one C pass each way (``sailfish/_native/categorical.h``)
    instead of log_softmax, exp, mul, sum and gather and their autograd nodes. Forward and backward
    through autograd on a K = 10 minibatch (10 x 1,024 rows of 2 logits beside a value column, one
    thread, best of 100, interleaved): 623-635 us against torch's 896-915 us."""

    @staticmethod
    def forward(ctx, logits, actions):
        ctx.set_materialize_grads(False)  # an unused output (entropy without ent_coef) costs nothing
        rows = _rows(logits)
        a = actions.reshape(-1).long().contiguous()
        logp, entropy, lse = (logits.new_empty(rows.shape[0]) for _ in range(3))
        _native.categorical_forward(rows.detach().numpy(), a.numpy(), logp.numpy(), entropy.numpy(), lse.numpy())
        ctx.save_for_backward(logits, a, lse, entropy)
        return logp.view(logits.shape[:-1]), entropy.view(logits.shape[:-1])

    @staticmethod
    def backward(ctx, grad_logp, grad_entropy):
        logits, a, lse, entropy = ctx.saved_tensors
        grad = logits.new_empty(logits.shape)
        flat = [None if g is None else g.reshape(-1).contiguous().numpy() for g in (grad_logp, grad_entropy)]
        _native.categorical_backward(_rows(logits).detach().numpy(), a.numpy(), lse.numpy(), entropy.numpy(),
                                     *flat, grad.view(-1, logits.shape[-1]).numpy())
        return grad, None


# The C kernel serves batches of at least this many rows: a population's minibatches (10 x 1,024
# rows: 620 vs 928 us forward + backward, best of 100) but not a solo run's, where it saves nothing
# (1,024 rows: 266 vs 260 us) or where it would move a learning test's trajectory (connect4's 4,096
# rows, 617 vs 1,017 us, took tests/test_league.py's self-play to 0.925 / 0.88 against a bar of 0.9:
# float rounding, not a wrong gradient; kept out until that test's seed spread is measured).
KERNEL_MIN_ROWS = 8192


def _kernel_applies(logits: torch.Tensor) -> bool:
    if not HAS_KERNEL or logits.numel() < KERNEL_MIN_ROWS * logits.shape[-1]:
        return False
    try:  # a tensor without plain storage (vmap's batched tensors) has no strides or NumPy view
        return _rows(logits) is not None and logits.detach()[..., :0].numpy() is not None
    except (RuntimeError, TypeError, NotImplementedError):
        return False


class Categorical:
    """Discrete(n): params are n logits; actions int64 [...]."""

    def __init__(self, n: int):
        self.n = int(n)
        self.param_size = self.n
        self.action_shape: tuple[int, ...] = ()

    def sample(self, params: torch.Tensor, generator: torch.Generator | None = None,
               action_masks: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        params = masked_logits(params, action_masks)
        # Gumbel-max: argmax(log p - log E), E ~ Exp(1); fewer and cheaper ops than torch.multinomial.
        logp = F.log_softmax(params, dim=-1)
        noise = torch.empty_like(logp).exponential_(generator=generator).log_()
        actions = (logp - noise).argmax(-1, keepdim=True)
        return actions.squeeze(-1), logp.gather(-1, actions).squeeze(-1)

    def logprob_entropy(self, params: torch.Tensor, actions: torch.Tensor,
                        action_masks: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        logits = masked_logits(params, action_masks)
        if _kernel_applies(logits):
            return _LogprobEntropy.apply(logits, actions)
        logp = F.log_softmax(logits, dim=-1)
        entropy = -(logp.exp() * logp).sum(-1)
        return logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1), entropy

    def logprob(self, params: torch.Tensor, actions: torch.Tensor,
                action_masks: torch.Tensor | None = None) -> torch.Tensor:
        logp = F.log_softmax(masked_logits(params, action_masks), dim=-1)
        return logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)

    def mode(self, params: torch.Tensor, action_masks: torch.Tensor | None = None) -> torch.Tensor:
        return masked_logits(params, action_masks).argmax(-1)


class MultiCategorical:
    """MultiDiscrete(nvec): params are sum(nvec) logits, one block per component; actions [..., k]."""

    def __init__(self, nvec):
        self.nvec = [int(n) for n in np.asarray(nvec).reshape(-1)]
        self.param_size = sum(self.nvec)
        self.action_shape = (len(self.nvec),)

    def _split(self, params, action_masks=None):
        params = masked_logits(params, action_masks)  # one mask over every component's logits
        return [F.log_softmax(p, dim=-1) for p in torch.split(params, self.nvec, dim=-1)]

    def sample(self, params, generator=None, action_masks=None):
        logps = self._split(params, action_masks)
        batch = params.shape[:-1]
        acts = [torch.multinomial(lp.reshape(-1, lp.shape[-1]).exp(), 1, generator=generator).reshape(*batch, 1)
                for lp in logps]
        logprob = sum(lp.gather(-1, a).squeeze(-1) for lp, a in zip(logps, acts))
        return torch.cat(acts, -1), logprob

    def logprob_entropy(self, params, actions, action_masks=None):
        logps = self._split(params, action_masks)
        actions = actions.long()
        logprob = sum(lp.gather(-1, actions[..., i:i + 1]).squeeze(-1) for i, lp in enumerate(logps))
        entropy = sum(-(lp.exp() * lp).sum(-1) for lp in logps)
        return logprob, entropy

    def logprob(self, params, actions, action_masks=None):
        return self.logprob_entropy(params, actions, action_masks)[0]

    def mode(self, params, action_masks=None):
        params = masked_logits(params, action_masks)
        return torch.stack([p.argmax(-1) for p in torch.split(params, self.nvec, dim=-1)], -1)


def _no_masks(action_masks) -> None:
    """Continuous actions have no legal-action masks: the argument exists so callers can pass an env's
    ``action_masks`` (None for a Box env) to any distribution."""
    if action_masks is not None:
        raise ValueError("action_masks: a continuous (Box) action space has no legal-action masks")


class DiagGaussian:
    """Box(k): params are [mean (k), log_std (k)]; actions float32 [..., k], unbounded (the env clips)."""

    def __init__(self, k: int):
        self.k = int(k)
        self.param_size = 2 * self.k
        self.action_shape = (self.k,)

    def sample(self, params, generator=None, action_masks=None):
        _no_masks(action_masks)
        mean, log_std = params.split(self.k, dim=-1)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        actions = mean + noise * log_std.exp()
        logprob = (-0.5 * noise.square() - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        return actions, logprob

    def logprob_entropy(self, params, actions):
        mean, log_std = params.split(self.k, dim=-1)
        z = (actions - mean) * torch.exp(-log_std)
        logprob = (-0.5 * z.square() - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        entropy = (log_std + 0.5 * (1.0 + math.log(2 * math.pi))).sum(-1)
        return logprob, entropy

    def logprob(self, params, actions):
        return self.logprob_entropy(params, actions)[0]

    def mode(self, params, action_masks=None):
        _no_masks(action_masks)
        return params[..., :self.k]


def make_distribution(space: gymnasium.Space):
    """The distribution for a single agent's action space (Discrete, MultiDiscrete or 1-D Box)."""
    if isinstance(space, gymnasium.spaces.Discrete):
        return Categorical(space.n)
    if isinstance(space, gymnasium.spaces.MultiDiscrete):
        return MultiCategorical(space.nvec)
    if isinstance(space, gymnasium.spaces.Box) and len(space.shape) == 1:
        return DiagGaussian(space.shape[0])
    raise ValueError(f"action space: unsupported {space} (use Discrete, MultiDiscrete or a 1-D Box)")
