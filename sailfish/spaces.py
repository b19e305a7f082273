"""Flattening nested Gymnasium spaces to one flat buffer per agent, and back.

Observations. Any nesting of ``Dict`` / ``Tuple`` over ``Box`` (any dtype), ``Discrete``,
``MultiDiscrete`` and ``MultiBinary`` packs into one 1-D row per agent (``ObservationLayout``):

- a lone ``Box`` passes through with its own shape and dtype (a CNN still sees its image);
- if every leaf is stored in the same dtype (say all float32 Boxes), the row is that dtype and
  the leaves lie end to end: the policy can read the row as one vector;
- otherwise the row is raw bytes (uint8) holding a C-like struct: each leaf at an offset
  aligned to its item size, the row padded to the largest alignment, so every leaf of every row
  can be reinterpreted in place (``structured_dtype`` is the matching NumPy structured dtype).

Leaves keep their space's dtype (``Discrete`` and ``MultiDiscrete`` int64, ``MultiBinary``
int8), so the round trip is lossless. ``ObservationLayout.views(batch)`` gives a policy the
nested structure as views of a batch of rows (NumPy arrays or torch tensors, no copy).

Actions. A structured action space maps to one policy head (``ActionLayout``): ``Discrete``,
``MultiDiscrete`` (0-based) and float ``Box`` pass through; leaves that are all discrete
(``Discrete``, ``MultiDiscrete``, ``MultiBinary``, integer ``Box``) become one
``MultiDiscrete``; leaves that are all float ``Box`` become one float32 ``Box``. A space mixing
both kinds raises ``ValueError``: Sailfish policies have one head kind per action space.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["Leaf", "ObservationLayout", "ActionLayout", "observation_layout", "action_layout"]

_SUPPORTED = "Dict, Tuple, Box, Discrete, MultiDiscrete, MultiBinary"
_INT32_MAX = np.iinfo(np.int32).max


@dataclass(frozen=True)
class Leaf:
    """One non-composite space inside a nested space.

    Attributes:
        path: keys (Dict) and indices (Tuple) from the root to this leaf; ``()`` for the root.
        space: the leaf space.
        dtype: the dtype values are stored in.
        shape: the stored shape (``()`` for ``Discrete``).
        offset: start of the leaf in the row, in elements of the row's dtype.
    """

    path: tuple
    space: gym.Space
    dtype: np.dtype
    shape: tuple[int, ...]
    offset: int

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def name(self) -> str:
        return "/".join(str(p) for p in self.path) or "obs"


def _leaves(space: gym.Space, path: tuple = (), root: gym.Space | None = None) -> list[tuple[tuple, gym.Space]]:
    root = space if root is None else root
    if isinstance(space, gym.spaces.Dict):
        return [leaf for key, sub in space.spaces.items() for leaf in _leaves(sub, (*path, key), root)]
    if isinstance(space, gym.spaces.Tuple):
        return [leaf for i, sub in enumerate(space.spaces) for leaf in _leaves(sub, (*path, i), root)]
    if isinstance(space, (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
        return [(path, space)]
    where = "/".join(map(str, path)) or "the root"
    message = f"unsupported space {space} at {where}: Sailfish flattens {_SUPPORTED}"
    if _is_text(space):
        message += "; " + _text_advice(space, path, root)
    raise ValueError(message)


def _is_text(space: gym.Space) -> bool:
    # MiniGrid's MissionSpace (free-text missions) is a plain Space, not a gymnasium Text
    return isinstance(space, gym.spaces.Text) or type(space).__name__ == "MissionSpace"


def _text_advice(space: gym.Space, path: tuple, root: gym.Space) -> str:
    """How to drop a text leaf before emulation: the wrapper that does it, with its arguments."""
    advice = "text has no fixed-size numeric form, so drop it before Sailfish sees the env"
    if len(path) == 1 and isinstance(root, gym.spaces.Dict):
        keep = [k for k, sub in root.spaces.items() if k != path[0] and not _is_text(sub)]
        advice += f": gymnasium.wrappers.FilterObservation(env, {keep!r})"
    else:
        advice += " with a gymnasium.ObservationWrapper"
    if type(space).__name__ == "MissionSpace":
        advice += " (MiniGrid: or minigrid.wrappers.ImgObsWrapper(env) for the image alone)"
    return advice


def _stored(space: gym.Space) -> tuple[np.dtype, tuple[int, ...]]:
    if isinstance(space, gym.spaces.Discrete):
        return np.dtype(space.dtype), ()
    return np.dtype(space.dtype), tuple(int(s) for s in space.shape)


def _bounds(space: gym.Space) -> tuple[np.ndarray, np.ndarray]:
    """Flat low and high of a leaf, as float64 or int64/bool arrays of the leaf's values."""
    if isinstance(space, gym.spaces.Box):
        return space.low.reshape(-1), space.high.reshape(-1)
    if isinstance(space, gym.spaces.Discrete):
        return np.array([space.start]), np.array([space.start + space.n - 1])
    if isinstance(space, gym.spaces.MultiDiscrete):
        start = np.broadcast_to(space.start, space.nvec.shape).reshape(-1)
        return start, start + space.nvec.reshape(-1) - 1
    n = int(np.prod(space.shape))
    return np.zeros(n, np.int8), np.ones(n, np.int8)


def _tree(space: gym.Space, counter: list[int]) -> Any:
    """The space's shape as nested tuples, leaves replaced by their index (for rebuilding)."""
    if isinstance(space, gym.spaces.Dict):
        return ("dict", tuple((k, _tree(s, counter)) for k, s in space.spaces.items()))
    if isinstance(space, gym.spaces.Tuple):
        return ("tuple", tuple(_tree(s, counter) for s in space.spaces))
    counter[0] += 1
    return ("leaf", counter[0] - 1)


def _rebuild(tree: Any, values: list) -> Any:
    kind, body = tree
    if kind == "leaf":
        return values[body]
    if kind == "dict":
        return {k: _rebuild(t, values) for k, t in body}
    return tuple(_rebuild(t, values) for t in body)


def _get(obs: Any, path: tuple) -> Any:
    for key in path:
        obs = obs[key]
    return obs


class ObservationLayout:
    """How one agent's (possibly nested) observation lies in its row of the observation buffer.

    Attributes:
        space: the original observation space.
        leaves: the leaves in depth-first order (Dict keys in the Dict's order).
        dtype: the row's dtype (the leaves' common dtype, or uint8 for mixed leaves).
        shape: the row's shape (the Box's own shape for a lone Box, else ``(elements,)``).
        flat_space: a ``Box`` of ``shape`` and ``dtype`` describing the rows.
        passthrough: True for a lone Box (rows are the observations themselves).
        is_bytes: True when the row holds mixed dtypes as bytes.
        structured_dtype: a NumPy structured dtype with one field per leaf (named by its path
            joined with ``/``) over the row's bytes: ``row.view(layout.structured_dtype)``.
    """

    def __init__(self, space: gym.Space):
        found = _leaves(space)
        self.space = space
        self.passthrough = isinstance(space, gym.spaces.Box)
        stored = [_stored(s) for _, s in found]
        dtypes = {dt for dt, _ in stored}
        self.is_bytes = len(dtypes) > 1
        self.dtype = np.dtype(np.uint8) if self.is_bytes or not dtypes else dtypes.pop()

        leaves, byte_offsets, end, align = [], [], 0, 1
        for (path, leaf_space), (dt, shape) in zip(found, stored):
            if self.is_bytes:
                end = -(-end // dt.alignment) * dt.alignment  # round up to the leaf's alignment
                align = max(align, dt.alignment)
            offset = end // self.dtype.itemsize
            leaves.append(Leaf(path, leaf_space, dt, shape, offset))
            byte_offsets.append(end)
            end += dt.itemsize * int(np.prod(shape, dtype=np.int64))
        nbytes = -(-end // align) * align  # padding keeps every row of a batch aligned
        self.leaves: tuple[Leaf, ...] = tuple(leaves)
        self.shape: tuple[int, ...] = stored[0][1] if self.passthrough else (nbytes // self.dtype.itemsize,)
        self.nbytes = nbytes
        self._tree = _tree(space, [0])

        names = [leaf.name for leaf in leaves]
        if len(set(names)) < len(names):
            names = [f"{i}:{n}" for i, n in enumerate(names)]
        self.structured_dtype = np.dtype({
            "names": names, "formats": [(lf.dtype, lf.shape) for lf in leaves],
            "offsets": byte_offsets, "itemsize": nbytes,
        })
        if self.passthrough:
            self.flat_space = space
        elif self.is_bytes:
            self.flat_space = gym.spaces.Box(0, 255, self.shape, np.uint8)
        elif not leaves:
            self.flat_space = gym.spaces.Box(0, 0, (0,), np.uint8)
        else:
            lows, highs = zip(*(_bounds(lf.space) for lf in leaves))
            self.flat_space = gym.spaces.Box(np.concatenate(lows).astype(self.dtype),
                                             np.concatenate(highs).astype(self.dtype), self.shape, self.dtype)

    def __repr__(self) -> str:
        kind = "passthrough" if self.passthrough else ("bytes" if self.is_bytes else str(self.dtype))
        return f"ObservationLayout({kind}, shape={self.shape}, leaves={len(self.leaves)})"

    def leaf_views(self, row: np.ndarray) -> list[np.ndarray]:
        """Typed views of each leaf inside one row (``shape``/``dtype`` of this layout); the
        emulation computes them once per row and writes every step through them."""
        if row.shape != self.shape or row.dtype != self.dtype:
            raise ValueError(f"row must be {self.dtype} {self.shape}, got {row.dtype} {row.shape}")
        if self.passthrough:
            return [row]
        return [row[lf.offset:lf.offset + self._row_len(lf)].view(lf.dtype).reshape(lf.shape) for lf in self.leaves]

    def _row_len(self, leaf: Leaf) -> int:
        return leaf.size * leaf.dtype.itemsize // self.dtype.itemsize

    def write(self, obs: Any, views: list[np.ndarray]) -> None:
        """Writes observation ``obs`` through ``views`` (from ``leaf_views``).

        Raises:
            ValueError: a leaf of ``obs`` has the wrong shape (named by its path).
        """
        if self.passthrough and getattr(obs, "shape", None) == self.shape:  # the common case, fast
            np.copyto(views[0], obs, casting="unsafe")
            return
        for leaf, view in zip(self.leaves, views):
            value = np.asarray(_get(obs, leaf.path))
            if value.shape != leaf.shape:
                raise ValueError(f"observation {leaf.name}: expected shape {leaf.shape} for {leaf.space}, "
                                 f"got {value.shape}")
            np.copyto(view, value, casting="unsafe")

    def flatten(self, obs: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Packs ``obs`` (an element of ``space``) into a row; into ``out`` when given."""
        if out is None:
            out = np.zeros(self.shape, self.dtype)
        self.write(obs, self.leaf_views(out))
        return out

    def unflatten(self, row: np.ndarray) -> Any:
        """The observation a row holds, as an element of ``space`` (fresh arrays, no views)."""
        values = []
        for leaf, view in zip(self.leaves, self.leaf_views(np.asarray(row, order="C"))):
            values.append(leaf.dtype.type(view[()]) if isinstance(leaf.space, gym.spaces.Discrete) else view.copy())
        return _rebuild(self._tree, values)

    def views(self, batch: Any) -> Any:
        """The nested structure of a batch of rows, each leaf a view of ``batch`` (no copy).

        Args:
            batch: a NumPy array or torch tensor of shape ``(*batch_dims, *shape)`` and this
                layout's dtype (uint8 for byte rows), e.g. ``env.observations`` or a slice of
                an experience buffer; rows must be contiguous in their last dimension.

        Returns:
            Dicts and tuples shaped like ``space``; each leaf ``(*batch_dims, *leaf.shape)`` of
            the leaf's dtype. A lone Box returns ``batch`` itself.
        """
        if self.passthrough:
            return batch
        batch_dims = tuple(batch.shape[:len(batch.shape) - 1])
        is_numpy = isinstance(batch, np.ndarray)
        values = []
        for leaf in self.leaves:
            part = batch[..., leaf.offset:leaf.offset + self._row_len(leaf)]
            if is_numpy:
                if self.is_bytes:
                    part = part.view(leaf.dtype)
                values.append(part.reshape((*batch_dims, *leaf.shape), copy=False))
            else:
                if self.is_bytes:
                    part = part.view(_torch_dtype(leaf.dtype))
                values.append(part.view(*batch_dims, *leaf.shape))
        return _rebuild(self._tree, values)


def _torch_dtype(dtype: np.dtype) -> Any:
    import torch  # only the policy side needs torch

    return torch.from_numpy(np.zeros(0, dtype)).dtype


def observation_layout(space: gym.Space) -> ObservationLayout:
    """The row layout of observation space ``space`` (see ``ObservationLayout``).

    Raises:
        ValueError: a leaf that is not Box, Discrete, MultiDiscrete or MultiBinary (its path named).
    """
    return ObservationLayout(space)


@dataclass(frozen=True)
class _ActionLeaf:
    path: tuple
    space: gym.Space
    shape: tuple[int, ...]
    start: np.ndarray  # discrete: value of head index 0 (flat); continuous: unused
    offset: int  # first head component
    size: int


def _is_discrete(space: gym.Space) -> bool:
    if isinstance(space, gym.spaces.Box):
        return space.dtype.kind in "iub"
    return True


class ActionLayout:
    """How a (possibly nested) action space maps to one policy head, and back.

    Attributes:
        space: the original action space.
        flat_space: the head's space: ``Discrete(n)``, ``MultiDiscrete(nvec)`` (0-based) or a
            float32 ``Box`` of shape ``(k,)`` (or the original float32 Box).
        passthrough: True when ``flat_space`` is ``space`` itself.
        discrete: True for Discrete / MultiDiscrete heads.

    Continuous heads are float32: a float64 leaf receives float32 values widened, exactly.
    Actions are not clipped to the bounds; clip in the env (Gymnasium's ``ClipAction``) if needed.
    """

    def __init__(self, space: gym.Space):
        found = _leaves(space)
        if not found:
            raise ValueError(f"action space {space} has no leaves")
        kinds = [_is_discrete(s) for _, s in found]
        if any(kinds) and not all(kinds):
            name = lambda p: "/".join(map(str, p)) or "the root"  # noqa: E731
            disc = [name(p) for (p, _), k in zip(found, kinds) if k]
            cont = [name(p) for (p, _), k in zip(found, kinds) if not k]
            raise ValueError(
                f"action space {space} mixes discrete leaves ({', '.join(disc)}) and continuous leaves "
                f"({', '.join(cont)}); Sailfish policies have one head per action space, either "
                "MultiDiscrete or Box. Split the env's actions or discretize the continuous ones.")
        self.space = space
        self.discrete = kinds[0]
        self._tree = _tree(space, [0])
        leaves, offset = [], 0
        for path, s in found:
            shape = () if isinstance(s, gym.spaces.Discrete) else tuple(int(d) for d in s.shape)
            size = int(np.prod(shape, dtype=np.int64))
            start = _bounds(s)[0].astype(np.int64) if self.discrete else np.zeros(0)
            leaves.append(_ActionLeaf(path, s, shape, start, offset, size))
            offset += size
        self._leaves = tuple(leaves)
        if self.discrete:
            lows, highs = zip(*(_bounds(s) for _, s in found))
            low = np.concatenate(lows).astype(np.int64)
            high = np.concatenate(highs).astype(np.float64)  # float: uint64 highs would overflow int64
            nvec = high - low + 1
            if nvec.size and nvec.max() > _INT32_MAX:
                raise ValueError(f"action space {space}: a discrete leaf has more than 2**31 - 1 values")
            nvec = nvec.astype(np.int64)
        self.passthrough = (
            (isinstance(space, gym.spaces.Discrete) and space.start == 0)
            or (isinstance(space, gym.spaces.MultiDiscrete) and space.nvec.ndim == 1 and not np.any(space.start))
            or (isinstance(space, gym.spaces.Box) and not self.discrete and space.dtype == np.float32
                and len(space.shape) == 1)
        )
        if self.passthrough:
            self.flat_space = space
        elif self.discrete and isinstance(space, gym.spaces.Discrete):
            self.flat_space = gym.spaces.Discrete(int(space.n))
        elif self.discrete:
            self.flat_space = gym.spaces.MultiDiscrete(nvec)
        else:
            low = np.concatenate([s.low.reshape(-1) for _, s in found]).astype(np.float32)
            high = np.concatenate([s.high.reshape(-1) for _, s in found]).astype(np.float32)
            self.flat_space = gym.spaces.Box(low, high, (offset,), np.float32)
        self.shape: tuple[int, ...] = tuple(self.flat_space.shape)
        self.dtype = np.dtype(np.int32 if self.discrete else np.float32)

    def __repr__(self) -> str:
        return f"ActionLayout({self.space} -> {self.flat_space})"

    def unflatten(self, flat: Any) -> Any:
        """The env's action for head output ``flat`` (shape ``flat_space.shape``); fresh values."""
        if self.passthrough:
            if self.discrete and self.shape == ():
                return np.int64(flat)
            return np.array(flat, dtype=self.space.dtype)
        flat = np.asarray(flat).reshape(-1)
        values = []
        for leaf in self._leaves:
            part = flat[leaf.offset:leaf.offset + leaf.size]
            s = leaf.space
            if isinstance(s, gym.spaces.Discrete):
                values.append(np.int64(int(part[0]) + int(s.start)))
            elif self.discrete:
                values.append((part.astype(np.int64) + leaf.start).astype(s.dtype).reshape(leaf.shape))
            else:
                values.append(part.astype(s.dtype).reshape(leaf.shape))
        return _rebuild(self._tree, values)

    def flatten(self, action: Any, out: np.ndarray | None = None) -> np.ndarray:
        """The head output that maps to ``action`` (an element of ``space``)."""
        if out is None:
            out = np.zeros(self.shape, self.dtype)
        flat = out.reshape(-1)
        for leaf in self._leaves:
            value = np.asarray(_get(action, leaf.path), dtype=np.int64 if self.discrete else None).reshape(-1)
            if self.discrete:
                value = value - leaf.start
            flat[leaf.offset:leaf.offset + leaf.size] = value
        return out


def action_layout(space: gym.Space) -> ActionLayout:
    """The policy head for action space ``space`` (see ``ActionLayout``).

    Raises:
        ValueError: discrete and continuous leaves mixed (both listed), or an unsupported leaf.
    """
    return ActionLayout(space)
