"""An encoder for connect4's board: the lines of four are what the game is about, so look at them.

The MLP reads the 42 cells as 42 unrelated numbers and has to learn every line, at every place on
the board, separately; after ten minutes of self-play it still misses most wins in one. This encoder
gives it the board's structure instead (the row layout is in ``sailfish/_native/envs/connect4.h``:
42 cells from the top row down, +1 own, -1 the other side's, 0 empty, then 7 legal-move flags):

    cells [B, 6, 7] --> planes [B, 3, 6, 7]: own stone, other stone, playable now (empty, and on
                        the bottom row or on a stone)
    every 4x4 window (3 x 4 of them: each holds 4 rows, 4 columns and both diagonals of four)
        --a 4x4 valid convolution (filters wide), ReLU--> [B, filters * 12]
    --Linear, tanh--> hidden

(On one core, 4,096 rows, forward: ``F.conv2d`` took 3.9 ms where gathering the windows and one
shared matmul took 7.5 ms.)
"""
from __future__ import annotations

import math

import gymnasium
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROWS, COLS, LINE = 6, 7, 4
CELLS = ROWS * COLS


class Connect4Encoder(nn.Module):
    """Encoder for connect4 rows (float32, 42 cells then 7 legal flags); see the module doc."""

    def __init__(self, obs_space: gymnasium.spaces.Box, hidden: int = 128, filters: int = 64):
        super().__init__()
        size = int(np.prod(obs_space.shape))
        if obs_space.dtype != np.float32 or size != CELLS + COLS:
            raise ValueError(f"Connect4Encoder: expected a connect4 observation (float32, {CELLS} cells then "
                             f"{COLS} legal flags), got {obs_space.dtype} with {size} elements")
        self.window = nn.Conv2d(3, filters, LINE)
        self.fc = nn.Linear(filters * (ROWS - LINE + 1) * (COLS - LINE + 1), hidden)
        for layer, gain in ((self.window, math.sqrt(2)), (self.fc, 1.0)):
            nn.init.orthogonal_(layer.weight, gain)
            nn.init.zeros_(layer.bias)
        self.out_size = hidden

    def planes(self, obs: torch.Tensor) -> torch.Tensor:
        """[B, 3 * 42]: own stones, other stones, playable cells (each 0 / 1, row-major, top row first)."""
        cells = obs.reshape(obs.shape[0], -1)[:, :CELLS].float()
        own, other = (cells > 0).float(), (cells < 0).float()
        empty = (cells == 0).reshape(-1, ROWS, COLS)
        supported = torch.ones_like(empty)  # the bottom row is always supported
        supported[:, :-1] = ~empty[:, 1:]
        playable = (empty & supported).flatten(1).float()
        return torch.cat([own, other, playable], 1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = self.planes(obs).reshape(-1, 3, ROWS, COLS)
        h = F.relu(F.conv2d(x, self.window.weight, self.window.bias)).flatten(1)
        return torch.tanh(F.linear(h, self.fc.weight, self.fc.bias))


# ---------------------------------------------------------------- left-right mirror symmetry
# Connect4 is the same game in a mirror: column c of a board plays as column 6 - c of its mirror
# image. ``mirror_symmetric`` builds that into the weights, so that the policy of a mirrored board is
# the mirrored policy and its value the same: every game then teaches its mirror image as well. The
# ties (torch.nn.utils.parametrize) cost no arithmetic at a forward: the layers keep their sizes, half
# of each layer's units are the mirror images of the other half.
#
#   window filters k and k + F/2: one filter and its left-right flip (same bias), so the mirrored
#       board's window features are the board's own, windows mirrored and filter pairs swapped (P);
#   hidden units u and u + H/2: the second reads the features through P, so mirroring the board
#       swaps the two halves (Q);
#   head: column 6 - j's logit row is column j's read through Q; the centre column's and the
#       value's rows read u and u + H/2 alike.


class _TiedHalves(nn.Module):
    """A weight (or bias) whose second half of rows is the first half's, read through ``index``
    along the last dim (``index`` None: the rows repeated, for biases)."""

    def __init__(self, index: torch.Tensor | None = None, flip_width: bool = False):
        super().__init__()
        self.flip_width = flip_width
        self.register_buffer("index", index, persistent=False)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        half = weight[:weight.shape[0] // 2]
        if self.flip_width:
            return torch.cat([half, half.flip(-1)])
        return torch.cat([half, half if self.index is None else half[..., self.index]])


class _MirroredHead(nn.Module):
    """The head's rows (7 column logits, then the value): rows 4-6 are rows 2-0 read through the
    hidden pair swap ``index``; rows 3 and 7 the mean of themselves and their swap (symmetric)."""

    def __init__(self, index: torch.Tensor, is_bias: bool):
        super().__init__()
        self.is_bias = is_bias
        self.register_buffer("index", index, persistent=False)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        swap = (lambda w: w) if self.is_bias else (lambda w: w[..., self.index])
        left, centre, value = weight[:COLS // 2], weight[COLS // 2:COLS // 2 + 1], weight[COLS:COLS + 1]
        if not self.is_bias:
            centre, value = (centre + swap(centre)) / 2, (value + swap(value)) / 2
        return torch.cat([left, centre, swap(left).flip(0), value])


def mirror_symmetric(policy: nn.Module) -> nn.Module:
    """Tie ``policy``'s weights (a ``Policy`` on a ``Connect4Encoder``, 7 columns) so that it is
    exactly left-right symmetric; returns the same policy. Needs an even number of window filters
    and of hidden units."""
    from torch.nn.utils import parametrize

    encoder = getattr(policy, "encoder", None)
    if not isinstance(encoder, Connect4Encoder) or getattr(policy, "num_params", None) != COLS:
        raise ValueError("mirror_symmetric: needs a feed-forward Policy on the connect4 encoder "
                         "(encoder = \"connect4\", recurrent = false)")
    filters, hidden = encoder.window.out_channels, encoder.fc.out_features
    if filters % 2 or hidden % 2:
        raise ValueError(f"mirror_symmetric: window_filters ({filters}) and hidden_size ({hidden}) must be even")
    wins_r, wins_c = ROWS - LINE + 1, COLS - LINE + 1
    k, r, c = torch.meshgrid(torch.arange(filters), torch.arange(wins_r), torch.arange(wins_c), indexing="ij")
    features = ((k + filters // 2) % filters) * wins_r * wins_c + r * wins_c + (wins_c - 1 - c)  # P
    units = (torch.arange(hidden) + hidden // 2) % hidden  # Q
    parametrize.register_parametrization(encoder.window, "weight", _TiedHalves(flip_width=True))
    parametrize.register_parametrization(encoder.window, "bias", _TiedHalves())
    parametrize.register_parametrization(encoder.fc, "weight", _TiedHalves(features.flatten()))
    parametrize.register_parametrization(encoder.fc, "bias", _TiedHalves())
    parametrize.register_parametrization(policy.head, "weight", _MirroredHead(units, is_bias=False))
    parametrize.register_parametrization(policy.head, "bias", _MirroredHead(units, is_bias=True))
    return policy
