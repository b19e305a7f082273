"""Encoders (MLP, CNN), the actor-critic ``Policy`` around one, and the ``LSTM`` wrapper."""
from __future__ import annotations

import math

import gymnasium
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sailfish.policies.activations import tanh
from sailfish.policies.distributions import DiagGaussian, make_distribution


def layer_init(layer: nn.Module, std: float = math.sqrt(2), bias: float = 0.0) -> nn.Module:
    """Orthogonal weights with gain ``std``, constant bias (the usual PPO initialisation)."""
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


def _obs_scale(space: gymnasium.spaces.Box) -> float:
    """Integer observations are scaled to [0, 1] by their declared maximum."""
    if np.issubdtype(space.dtype, np.integer):
        high = float(np.max(space.high))
        return 1.0 / high if np.isfinite(high) and high > 0 else 1.0
    return 1.0


class ObsNorm(nn.Module):
    """Running mean / std normalisation of flat observations, clipped to ``±clip``.

    The statistics change only in ``commit()``, from what ``observe()`` gathered since the last one;
    the trainer observes a whole rollout and commits after the update on it, so a rollout and the
    update on its data see the same normalisation and PPO's ratio compares like with like. They are
    buffers, so checkpoints (and ``sailfish eval``) carry them.
    """

    def __init__(self, size: int, clip: float = 5.0):
        super().__init__()
        self.clip = clip
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("var", torch.ones(size))
        self.register_buffer("count", torch.tensor(1e-4))
        self._pending: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.mean) * torch.rsqrt(self.var + 1e-8)).clamp_(-self.clip, self.clip)

    @torch.no_grad()
    def observe(self, x: torch.Tensor) -> None:
        """Queue a batch ``[N, size]`` of raw observations for the next ``commit``."""
        self._pending.append(x.detach().float().reshape(-1, self.mean.numel()))

    @torch.no_grad()
    def commit(self, reduce=None) -> None:
        """Merge the queued batches into the running statistics (Chan et al.'s parallel update).

        ``reduce``: sums a tensor over data-parallel ranks in place (``sailfish.train.distributed``),
        so every rank merges the statistics of all ranks' batches; None for one process.
        """
        if not self._pending:
            return
        x = torch.cat(self._pending)
        self._pending = []
        n = x.shape[0]
        batch_mean, batch_var = x.mean(0), x.var(0, unbiased=False)
        if reduce is not None:  # sums over ranks, in float64: count, sum and sum of squares
            x64 = x.double()
            sums = reduce(torch.cat([torch.tensor([float(n)], dtype=torch.float64), x64.sum(0), x64.square().sum(0)]))
            size = self.mean.numel()
            n = float(sums[0])
            batch_mean = (sums[1:1 + size] / n).float()
            batch_var = (sums[1 + size:] / n - (sums[1:1 + size] / n).square()).clamp(min=0.0).float()
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * (n / total)
        self.var.copy_((self.var * self.count + batch_var * n + delta.square() * self.count * n / total) / total)
        self.count.copy_(total)


class MLP(nn.Module):
    """Flattens the observation and applies ``layers`` Linear+tanh layers of width ``hidden``;
    ``obs_norm`` puts an ``ObsNorm`` in front (for unbounded inputs such as angular velocities)."""

    def __init__(self, obs_space: gymnasium.spaces.Box, hidden: int = 64, layers: int = 2, obs_norm: bool = False):
        super().__init__()
        self.scale = _obs_scale(obs_space)
        self.norm = ObsNorm(int(np.prod(obs_space.shape))) if obs_norm else None
        sizes = [int(np.prod(obs_space.shape))] + [hidden] * layers
        mods = []
        for a, b in zip(sizes, sizes[1:]):
            mods += [layer_init(nn.Linear(a, b)), nn.Tanh()]
        self.net = nn.Sequential(*mods)
        self.linears = [m for m in mods if isinstance(m, nn.Linear)]
        self.out_size = hidden

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.reshape(obs.shape[0], -1)
        if x.dtype != torch.float32:
            x = x.float()
        if self.scale != 1.0:
            x = x * self.scale
        if self.norm is not None:
            x = self.norm(x)
        # Functional calls on the registered layers: a Module call costs more than a small matmul on CPU.
        for layer in self.linears:
            x = tanh(F.linear(x, layer.weight, layer.bias))
        return x


class CNN(nn.Module):
    """Conv encoder for image observations ``[H, W, C]`` (channels last, C <= 4) or ``[C, H, W]``.

    Large frames (>= 32 px) get the Nature-DQN stack; small grids get two stride-1 3x3 convs.
    """

    def __init__(self, obs_space: gymnasium.spaces.Box, hidden: int = 256):
        super().__init__()
        shape = obs_space.shape
        if len(shape) != 3:
            raise ValueError(f"CNN: observation shape must be [H, W, C] or [C, H, W], got {shape}")
        self.channels_last = shape[-1] <= 4 and shape[0] > 4
        c, h, w = (shape[2], shape[0], shape[1]) if self.channels_last else shape
        self.scale = _obs_scale(obs_space)
        if min(h, w) >= 32:
            convs = [layer_init(nn.Conv2d(c, 32, 8, 4)), nn.ReLU(), layer_init(nn.Conv2d(32, 64, 4, 2)), nn.ReLU(),
                     layer_init(nn.Conv2d(64, 64, 3, 1)), nn.ReLU()]
        else:
            convs = [layer_init(nn.Conv2d(c, 32, 3, 1, 1)), nn.ReLU(), layer_init(nn.Conv2d(32, 32, 3, 1)), nn.ReLU()]
        self.convs = nn.Sequential(*convs, nn.Flatten())
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, c, h, w)).shape[1]
        self.fc = nn.Sequential(layer_init(nn.Linear(flat, hidden)), nn.ReLU())
        self.out_size = hidden

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float() * self.scale
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        return self.fc(self.convs(x))


class Policy(nn.Module):
    """Actor-critic: ``encoder`` → one Linear head producing action parameters and the value together.

    One fused head (instead of separate actor and critic layers) saves an op per forward, which is what
    costs for small policies on CPU. Gaussian policies add a state-independent ``log_std``.
    """

    is_recurrent = False

    def __init__(self, encoder: nn.Module, action_space: gymnasium.Space, hidden: int | None = None):
        super().__init__()
        self.encoder = encoder
        self.dist = make_distribution(action_space)
        hidden = hidden or encoder.out_size
        self.hidden_size = hidden
        self.num_params = self.dist.param_size - (self.dist.k if isinstance(self.dist, DiagGaussian) else 0)
        self.head = nn.Linear(hidden, self.num_params + 1)
        with torch.no_grad():  # actor rows: small gain (near-uniform initial policy); critic row: gain 1
            nn.init.orthogonal_(self.head.weight[:self.num_params], 0.01)
            nn.init.orthogonal_(self.head.weight[self.num_params:], 1.0)
            self.head.bias.zero_()
        self.log_std = nn.Parameter(torch.zeros(self.dist.k)) if isinstance(self.dist, DiagGaussian) else None

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """Observations [B, ...] → features [B, hidden]."""
        return self.encoder(obs)

    def decode(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features [..., hidden] → (action params [..., param_size], value [...])."""
        out = F.linear(features, self.head.weight, self.head.bias)
        params, value = out[..., :self.num_params], out[..., self.num_params]
        if self.log_std is not None:
            params = torch.cat([params, self.log_std.expand_as(params)], -1)
        return params, value

    def forward(self, obs: torch.Tensor, state=None):
        params, value = self.decode(self.encoder(obs))
        return params, value, None

    def observation_norm(self) -> ObsNorm | None:
        """The encoder's ``ObsNorm``, if it has one (the trainer feeds and commits it)."""
        return getattr(self.encoder, "norm", None)

    def initial_state(self, batch: int, device) -> None:
        return None


class LSTM(nn.Module):
    """Recurrent wrapper: ``policy.encode`` → LSTM → ``policy.decode``.

    Rollouts step an ``nn.LSTMCell``; training runs segments through an ``nn.LSTM``; both hold the very
    same Parameter objects. The wrapped policy's weights are left as they are (only the LSTM's own are
    initialised here).
    """

    is_recurrent = True

    def __init__(self, policy: Policy, hidden: int | None = None):
        super().__init__()
        self.policy = policy
        self.dist = policy.dist
        hidden = hidden or policy.hidden_size
        self.hidden = hidden
        self.lstm = nn.LSTM(policy.hidden_size, hidden, batch_first=True)
        for name, p in self.lstm.named_parameters():
            if "weight" in name:
                nn.init.orthogonal_(p, 1.0)
            else:
                nn.init.zeros_(p)
        self.cell = nn.LSTMCell(policy.hidden_size, hidden)
        self.cell.weight_ih = self.lstm.weight_ih_l0
        self.cell.weight_hh = self.lstm.weight_hh_l0
        self.cell.bias_ih = self.lstm.bias_ih_l0
        self.cell.bias_hh = self.lstm.bias_hh_l0
        if hidden != policy.hidden_size:
            raise ValueError("LSTM: hidden must equal the wrapped policy's hidden_size (its head reads it)")

    def observation_norm(self) -> ObsNorm | None:
        return self.policy.observation_norm()

    def initial_state(self, batch: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(batch, self.hidden, device=device)
        return zeros, zeros.clone()

    def forward(self, obs: torch.Tensor, state):
        """One step for a batch of agents; the caller has already zeroed the state where episodes began."""
        h, c = self.cell(self.policy.encode(obs), state)
        params, value = self.policy.decode(h)
        return params, value, (h, c)

    def forward_sequence(self, obs: torch.Tensor, state, starts: torch.Tensor):
        """Segments ``obs [S, L, ...]`` from their start ``state``; state *= (1 - starts[:, t]) before step t."""
        S, L = starts.shape
        x = self.policy.encode(obs.reshape(S * L, *obs.shape[2:])).reshape(S, L, -1)
        h, c = state
        keep = (~starts).to(x.dtype).unsqueeze(-1)
        if bool(starts[:, 1:].any()):
            outs = []
            for t in range(L):
                h, c = self.cell(x[:, t], (h * keep[:, t], c * keep[:, t]))
                outs.append(h)
            out = torch.stack(outs, 1)
        else:  # no episode starts inside the segments: one fused LSTM call
            h, c = h * keep[:, 0], c * keep[:, 0]
            out, (h, c) = self.lstm(x, (h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()))
            h, c = h[0], c[0]
        params, values = self.policy.decode(out)
        return params, values, (h, c)


def make_policy(env, config=None) -> nn.Module:
    """Default policy for ``env``'s single-agent spaces: ``config.encoder``, wrapped in ``LSTM``
    when ``config.recurrent``. "auto" picks a CNN for 3-D observations, ``CombinedEncoder`` for a
    Dict / Tuple observation holding an image (a rank-3 uint8 Box, read through
    ``env.observation_layout``), and an MLP otherwise."""
    from sailfish.policies.combined import CombinedEncoder, has_image_leaf

    obs_space = env.single_observation_space
    hidden = getattr(config, "hidden_size", 64)
    if not isinstance(obs_space, gymnasium.spaces.Box):
        raise ValueError(f"observation space: expected a Box, got {obs_space}")
    obs_norm = bool(getattr(config, "obs_norm", False))
    layout = getattr(env, "observation_layout", None)
    kind = getattr(config, "encoder", "auto")
    if kind == "auto":
        kind = "cnn" if len(obs_space.shape) == 3 else "combined" if has_image_leaf(layout) else "mlp"
    if kind == "combined":
        if layout is None or not has_image_leaf(layout):
            raise ValueError('encoder: "combined" needs a Dict or Tuple observation with an image (a rank-3 uint8 '
                             f"Box) in env.observation_layout; this env's rows are {obs_space}")
        if obs_norm:
            raise ValueError('obs_norm: must be False for a Dict observation with an image (encoder "combined": '
                             "only the MLP normalises observations)")
        encoder: nn.Module = CombinedEncoder(layout, hidden)
    elif kind == "connect4":
        from sailfish.policies.board import Connect4Encoder

        encoder = Connect4Encoder(obs_space, hidden, int(getattr(config, "window_filters", 64)))
    elif kind == "mmo":
        from sailfish.policies.mmo import MmoEncoder

        encoder = MmoEncoder(obs_space, hidden)
    elif kind == "cnn":
        encoder = CNN(obs_space, hidden)
    else:
        encoder = MLP(obs_space, hidden, obs_norm=obs_norm)
    policy = Policy(encoder, env.single_action_space)
    if getattr(config, "mirror_symmetric", False):
        if kind != "connect4" or getattr(config, "recurrent", False):
            raise ValueError('mirror_symmetric: needs encoder = "connect4" and recurrent = false '
                             f"(got encoder {kind!r}, recurrent {getattr(config, 'recurrent', False)})")
        from sailfish.policies.board import mirror_symmetric

        mirror_symmetric(policy)
    if getattr(config, "recurrent", False):
        policy = LSTM(policy)
    return policy
