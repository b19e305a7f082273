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
