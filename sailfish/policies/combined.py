"""``CombinedEncoder``: a CNN on each image inside a Dict / Tuple observation, an MLP on the rest.

``sailfish.spaces`` packs a nested observation into one flat row per agent (MiniGrid's
``{"direction": Discrete(4), "image": Box(0, 255, (7, 7, 3), uint8)}`` becomes 160 bytes), which
an MLP would read as unrelated numbers. This encoder unpacks the row again through the env's
``ObservationLayout`` (views, no copies), runs the small-grid or Nature ``CNN`` on every image
leaf and an MLP on the other leaves (``Discrete`` and ``MultiDiscrete`` one-hot, the rest as
floats), and mixes the features with one Linear + ReLU.

An image leaf (``is_image``) is a ``Box`` of rank 3 with dtype uint8: the shape of a frame or a
grid of symbols, ``[H, W, C]`` with C <= 4 or ``[C, H, W]``, as ``CNN`` reads it. ``make_policy``
picks this encoder for ``encoder = "auto"`` when the observation is a Dict or Tuple holding one.
"""
from __future__ import annotations

import gymnasium
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sailfish.policies.models import CNN, MLP, _obs_scale, layer_init
from sailfish.spaces import Leaf, ObservationLayout


def is_image(space: gymnasium.Space) -> bool:
    """True for a rank-3 uint8 ``Box``: the leaves ``CombinedEncoder`` gives a CNN."""
    return isinstance(space, gymnasium.spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8


def has_image_leaf(layout: ObservationLayout | None) -> bool:
    """True when ``layout`` is a nested observation (not a lone Box) with an image leaf."""
    return layout is not None and not layout.passthrough and any(is_image(leaf.space) for leaf in layout.leaves)


def _leaf_width(leaf: Leaf) -> int:
    space = leaf.space
    if isinstance(space, gymnasium.spaces.Discrete):
        return int(space.n)
    if isinstance(space, gymnasium.spaces.MultiDiscrete):
        return int(space.nvec.sum())
    return leaf.size


class CombinedEncoder(nn.Module):
    """Observation rows ``[B, *layout.shape]`` → features ``[B, hidden]`` (see the module docstring).

    Args:
        layout: the env's ``observation_layout`` (``env.observation_layout`` of the Python backends).
        hidden: width of each part's features and of the output.
    """

    def __init__(self, layout: ObservationLayout, hidden: int = 64):
        super().__init__()
        self.layout = layout
        self.image_leaves = [leaf for leaf in layout.leaves if is_image(leaf.space)]
        self.other_leaves = [leaf for leaf in layout.leaves if not is_image(leaf.space)]
        if not self.image_leaves:
            raise ValueError(f"CombinedEncoder: {layout} has no image leaf (a rank-3 uint8 Box)")
        self.cnns = nn.ModuleList([CNN(leaf.space, hidden) for leaf in self.image_leaves])
        width = sum(_leaf_width(leaf) for leaf in self.other_leaves)
        self.mlp = MLP(gymnasium.spaces.Box(-np.inf, np.inf, (width,), np.float32), hidden, layers=1) if width else None
        self._scales = [_obs_scale(leaf.space) if isinstance(leaf.space, gymnasium.spaces.Box) else 1.0
                        for leaf in self.other_leaves]
        parts = len(self.cnns) + (self.mlp is not None)
        self.mix = layer_init(nn.Linear(parts * hidden, hidden))
        self.out_size = hidden

    def _leaf(self, obs: torch.Tensor, leaf: Leaf) -> torch.Tensor:
        """One leaf of a batch of rows, as a view ``[B, *leaf.shape]`` of the leaf's dtype."""
        layout, batch = self.layout, obs.shape[0]
        length = leaf.size * leaf.dtype.itemsize // layout.dtype.itemsize
        part = obs[:, leaf.offset:leaf.offset + length]
        if layout.is_bytes and leaf.dtype != np.uint8:
            dtype = torch.from_numpy(np.zeros(0, leaf.dtype)).dtype
            try:
                part = part.view(dtype)  # rows and leaves are aligned (sailfish.spaces), so no copy
            except RuntimeError:  # a batch whose rows are not where the layout put them (a gather)
                part = part.contiguous().view(dtype)
        return part.reshape(batch, *leaf.shape)

    def _other_features(self, obs: torch.Tensor) -> torch.Tensor:
        columns = []
        for leaf, scale in zip(self.other_leaves, self._scales):
            x, space = self._leaf(obs, leaf), leaf.space
            if isinstance(space, gymnasium.spaces.Discrete):
                columns.append(F.one_hot((x.long() - int(space.start)).clamp(0, int(space.n) - 1), int(space.n)))
            elif isinstance(space, gymnasium.spaces.MultiDiscrete):
                x = x.reshape(x.shape[0], -1).long() - torch.as_tensor(np.broadcast_to(space.start, space.nvec.shape)
                                                                       .reshape(-1), device=x.device)
                columns += [F.one_hot(x[:, j].clamp(0, int(n) - 1), int(n)) for j, n in enumerate(space.nvec.reshape(-1))]
            else:
                columns.append(x.reshape(x.shape[0], -1).float() * scale)
        return torch.cat([c.float() for c in columns], -1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        features = [cnn(self._leaf(obs, leaf)) for cnn, leaf in zip(self.cnns, self.image_leaves)]
        if self.mlp is not None:
            features.append(self.mlp(self._other_features(obs)))
        return F.relu(self.mix(torch.cat(features, -1)))
