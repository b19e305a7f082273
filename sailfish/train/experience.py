"""Rollout storage: every tensor of one batch of experience, allocated once, with named fields.

Layout: one timeline per env row, ``[rows, steps, ...]``; the update reads it as segments
``[rows * steps / segment_length, segment_length, ...]`` (one row's contiguous stretch of time), so
recurrent policies train with truncated BPTT over whole segments and feedforward ones flatten them.

Two kinds of field:

- **env fields** (``obs``, ``rewards``, ``terminals``, ``truncations``, ``starts``, ``masks``, and
  ``action_masks`` for an env with legal-action masks: ``[rows, steps, width]``) are
  written by the collection loop on the host, one column per step, through NumPy views (the
  cheapest per-step write). On a GPU they have pinned host buffers and device mirrors filled by
  ``to_device()`` once per update; on CPU the mirror *is* the host tensor. ``next_masks [rows]``
  is the mask of the observation after the last step (written with the bootstrap values).
- **learner fields** (``actions``, ``logprobs``, ``values``, ``advantages``, ``returns``,
  ``ratios``, ``next_values``) live on the learner's device.

A population (many learners in lockstep) would add a leading member dimension by giving each
member a block of rows; nothing here depends on what a row belongs to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

ENV_FIELDS = ("obs", "rewards", "terminals", "truncations", "starts", "masks", "next_masks")
LEARNER_FIELDS = ("actions", "logprobs", "values", "advantages", "returns", "ratios")


@dataclass
class Minibatch:
    """Whole segments of experience.

    Shapes are ``[members, segments, segment_length, ...]``: every member's own segments (one member:
    the ordinary run). ``live``: mean-1 sample weights (per member) that are 0 on padding rows (None
    when every row is live); ``weights``: prioritized sampling's importance weights per segment
    ``[members, segments, 1]`` (or None); ``index``: the segments' indices ``[members, n]`` within
    each member's block (None: the whole batch, in order);
    ``state``: recurrent state before each segment's first step (None for feedforward policies);
    ``action_masks``: the legal-action masks the actions were sampled under ``[..., width]`` (None:
    the env has none).
    """

    obs: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    starts: torch.Tensor
    live: torch.Tensor | None
    weights: torch.Tensor | None
    index: torch.Tensor | None
    state: tuple[torch.Tensor, ...] | None
    action_masks: torch.Tensor | None = None


class Experience:
    """The tensors of one batch: ``rows`` env rows x ``steps`` steps, read as segments of
    ``segment_length`` steps.

    Args:
        rows: env rows (agents) collected in parallel.
        steps: steps per row per batch (``Config.rollout_steps``).
        segment_length: steps per segment (``Config.bptt_horizon``); divides ``steps``.
        obs_shape, obs_dtype: one row's observation (the env buffer's dtype, a NumPy dtype).
        action_shape, action_dtype: one row's action as the distribution stores it.
        device: the learner's device; a non-CPU device gets pinned host buffers and mirrors.
        state_shapes: per-row shapes of a recurrent policy's state tensors (None: feedforward).
        mirror: force separate device mirrors even on CPU (exercises the GPU path without one).
        action_mask_width: columns of the env's ``action_masks`` (0: the env has none, nor has the
            experience).
    """

    def __init__(self, rows: int, steps: int, segment_length: int, obs_shape: Sequence[int], obs_dtype,
                 action_shape: Sequence[int], action_dtype: torch.dtype, device: torch.device,
                 state_shapes: Sequence[Sequence[int]] | None = None, mirror: bool | None = None,
                 members: int = 1, action_mask_width: int = 0):
        self._args = (rows, steps, segment_length, obs_shape, obs_dtype, action_shape, action_dtype, device,
                      state_shapes, mirror, members, action_mask_width)
        if steps % segment_length:
            raise ValueError(f"bptt_horizon: must divide rollout_steps ({steps}), got {segment_length}")
        if rows % members:
            raise ValueError(f"population: {members} members cannot share {rows} env rows evenly")
        self.rows, self.steps, self.segment_length = rows, steps, segment_length
        self.num_segments = rows * steps // segment_length
        self.members = members
        self.member_segments_count = self.num_segments // members  # each member's segments: a block
        self.device = device = torch.device(device)
        self.mirrored = device.type != "cpu" if mirror is None else bool(mirror)
        host = dict(pin_memory=True) if device.type == "cuda" else {}
        torch_obs_dtype = torch.from_numpy(np.zeros(1, dtype=obs_dtype)).dtype
        shapes = {"obs": ((rows, steps, *obs_shape), torch_obs_dtype), "rewards": ((rows, steps), torch.float32),
                  "terminals": ((rows, steps), torch.bool), "truncations": ((rows, steps), torch.bool),
                  "starts": ((rows, steps), torch.bool), "masks": ((rows, steps), torch.bool),
                  "next_masks": ((rows,), torch.bool)}
        if action_mask_width:
            shapes["action_masks"] = ((rows, steps, int(action_mask_width)), torch.bool)
        self.env_fields = tuple(shapes)
        self.host = {name: torch.zeros(shape, dtype=dtype, **host) for name, (shape, dtype) in shapes.items()}
        self.host["masks"].fill_(True)  # envs without a masks buffer are all live
        self.host["next_masks"].fill_(True)
        # NumPy views of the host tensors: what the collection loop writes, a column per step.
        self.host_np = {name: t.numpy() for name, t in self.host.items()}
        mirror_of = (lambda t: torch.zeros_like(t, device=device)) if self.mirrored else (lambda t: t)
        self.obs, self.rewards = mirror_of(self.host["obs"]), mirror_of(self.host["rewards"])
        self.terminals, self.truncations = mirror_of(self.host["terminals"]), mirror_of(self.host["truncations"])
        self.starts, self.masks = mirror_of(self.host["starts"]), mirror_of(self.host["masks"])
        self.masks.fill_(True)
        self.next_masks = mirror_of(self.host["next_masks"]).fill_(True)
        self.action_masks = mirror_of(self.host["action_masks"]) if action_mask_width else None

        dev = dict(device=device)
        self.actions = torch.zeros((rows, steps, *action_shape), dtype=action_dtype, **dev)
        self.logprobs = torch.zeros(rows, steps, **dev)
        self.values = torch.zeros(rows, steps, **dev)
        self.advantages = torch.zeros(rows, steps, **dev)
        self.returns = torch.zeros(rows, steps, **dev)
        self.ratios = torch.ones(rows, steps, **dev)  # current / behaviour policy, per sample
        self.next_values = torch.zeros(rows, **dev)  # value of the observation after the last step
        # Recurrent state before the first step of every segment: [rows, segments per row, ...].
        per_row = steps // segment_length
        self.segment_state = None if state_shapes is None else tuple(
            torch.zeros((rows, per_row, *shape), **dev) for shape in state_shapes)
        # Column views made once: slicing in the per-step loop would build them every step.
        self.step_columns = [(self.actions[:, t], self.logprobs[:, t], self.values[:, t]) for t in range(steps)]

    def empty_like(self) -> "Experience":
        """A second buffer of the same layout, zeroed (a collection can fill it while an update reads this one)."""
        return Experience(*self._args)

    @property
    def size(self) -> int:
        """Samples in one batch: rows x steps."""
        return self.rows * self.steps

    def to_device(self) -> None:
        """Copy the env fields from the host buffers to their device mirrors (no-op without mirrors)."""
        if self.mirrored:
            for name in self.env_fields:
                getattr(self, name).copy_(self.host[name], non_blocking=True)

    def any_padding(self) -> bool:
        """True when some sample of this batch is a padding row (masks False); syncs with the device."""
        return not bool(self.masks.all())

    def live_samples(self, x: torch.Tensor, padded: bool) -> torch.Tensor:
        """``x [rows, steps, ...]`` flattened to its live samples (all of them when not ``padded``)."""
        return x[self.masks] if padded else x.reshape(self.size, *x.shape[2:])

    def segments(self, x: torch.Tensor) -> torch.Tensor:
        """``x [rows, steps, ...]`` viewed as ``[segments, segment_length, ...]`` (no copy)."""
        return x.view(self.num_segments, self.segment_length, *x.shape[2:])

    def member_segments(self, x: torch.Tensor) -> torch.Tensor:
        """``x [rows, steps, ...]`` viewed as ``[members, segments per member, segment_length, ...]``."""
        return x.view(self.members, self.member_segments_count, self.segment_length, *x.shape[2:])

    def minibatches(self, minibatch_size: int, generators: Sequence[torch.Generator], live: torch.Tensor | None = None,
                    prio_alpha: float = 0.0, prio_beta: float = 1.0) -> Iterator[Minibatch]:
        """One epoch's minibatches, each ``[members, minibatch_size / segment_length, segment_length]``
        (whole segments, every member's own): a shuffle of each member's segments by its generator, or
        (one member, ``prio_alpha > 0``) segments drawn with replacement with probability
        ∝ (sum |advantage|)^alpha and importance weights (S p)^-prio_beta.

        ``generators``: one CPU ``torch.Generator`` per member; ``live`` as in ``minibatch``.
        """
        S, per_mb = self.member_segments_count, minibatch_size // self.segment_length
        weights = None
        if prio_alpha > 0:
            if self.members > 1:
                raise ValueError("prio_alpha: prioritized sampling is not supported in a population yet")
            magnitude = self.segments(self.advantages).abs()
            prio = (magnitude if live is None else magnitude * self.segments(live)).sum(1).pow(prio_alpha)
            probs = prio / prio.sum()
            order = torch.multinomial(probs.cpu(), S, replacement=True, generator=generators[0]).to(self.device)
            weights = (S * probs[order]).pow(-prio_beta)[None]
            order = order[None]
        elif S == per_mb:  # one minibatch of the whole batch needs no gather: its mean ignores order
            yield self.minibatch(None, live)
            return
        else:
            order = torch.stack([torch.randperm(S, generator=g) for g in generators]).to(self.device)
        for start in range(0, S, per_mb):
            index = order[:, start:start + per_mb]
            yield self.minibatch(index, live, None if weights is None else weights[:, start:start + per_mb, None])

    def minibatch(self, index: torch.Tensor | None, live: torch.Tensor | None = None,
                  weights: torch.Tensor | None = None) -> Minibatch:
        """Segments ``index [members, n]`` of each member's (None: the whole batch in order, no gather).

        ``live``: per-sample live flags as floats ``[rows, steps]`` (None when every row is live);
        each member's share of the minibatch is rescaled to mean 1.
        """
        members = torch.arange(self.members, device=self.device)[:, None]
        pick = (lambda x: x) if index is None else (lambda x: x[members, index])  # noqa: E731
        take = lambda x: pick(self.member_segments(x))  # noqa: E731
        mb_live = None
        if live is not None:
            mb_live = take(live)
            counts = mb_live.reshape(self.members, -1)
            scale = counts.shape[1] / counts.sum(1).clamp(min=1.0)
            mb_live = mb_live * scale.view(-1, *([1] * (mb_live.dim() - 1)))
        state = None
        if self.segment_state is not None:  # [rows, segments per row, ...]: one state per segment
            state = tuple(pick(s.reshape(self.members, self.member_segments_count, *s.shape[2:]))
                          for s in self.segment_state)
        return Minibatch(obs=take(self.obs), actions=take(self.actions), logprobs=take(self.logprobs),
                         values=take(self.values), advantages=take(self.advantages), returns=take(self.returns),
                         starts=take(self.starts), live=mb_live, weights=weights, index=index, state=state,
                         action_masks=None if self.action_masks is None else take(self.action_masks))

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every field of the current batch by name (the device side), for tests and inspection."""
        out = {name: getattr(self, name) for name in self.env_fields + LEARNER_FIELDS + ("next_values",)}
        if self.segment_state is not None:
            out.update({f"segment_state_{i}": s for i, s in enumerate(self.segment_state)})
        return out
