"""Collection: the policy acts on every env row, step after step, into an ``Experience``.

Owns what lives between the env and the policy across batches: zero-copy views of the env's
buffers, which rows just began an episode, and a recurrent policy's state. One C call steps every
env per step; the policy's action is written straight into the env's action buffer.
"""
from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Callable

import gymnasium
import numpy as np
import torch

from sailfish.emulation import summarize
from sailfish.train.experience import Experience
from sailfish.train.metrics import EpisodeWindow

if TYPE_CHECKING:
    from sailfish.train.fused_act import FusedAct


class Collector:
    """Steps ``env`` with ``policy`` and records each step into ``experience``.

    Args:
        env: a vector env with Sailfish's row buffers (``observations``, ``actions``, ... and
            optionally ``masks``).
        policy: called as ``policy(obs, state) -> (action_params, value, state)`` under inference mode.
        dist: the action distribution (``sample(params, generator) -> (actions, logprob)``).
        experience: where the steps go; its rows are the env's rows.
        generator: the torch generator actions are sampled from.
        initial_state: a recurrent policy's state for every row (None: feedforward).
        reward_scale: factor applied to rewards as they are stored (the reported returns are the env's);
            a population gives one per member (a list: each member's block of rows).
        amp: a factory of the context the policy runs in (``sailfish.train.hardware.autocast``).
        actor: a ``FusedAct`` that acts in one C call where it serves the policy (checked at the
            start of each collection; None: the policy and ``dist`` always act).
    """

    def __init__(self, env, policy: Callable, dist, experience: Experience, generator: torch.Generator,
                 initial_state: tuple[torch.Tensor, ...] | None = None, reward_scale: float = 1.0,
                 amp: Callable = contextlib.nullcontext, actor: FusedAct | None = None):
        self.env, self.policy, self.dist, self.experience, self.actor = env, policy, dist, experience, actor
        self.generator, self.state, self.amp = generator, initial_state, amp
        if isinstance(reward_scale, (list, tuple)):  # per member: repeat over each member's rows
            per_row = experience.rows // len(reward_scale)
            self.reward_scale = np.repeat(np.asarray(reward_scale, np.float32), per_row)
        else:
            self.reward_scale = float(reward_scale)
        self.device = experience.device
        self.env_obs, self.env_actions = torch.from_numpy(env.observations), torch.from_numpy(env.actions)
        self.env_masks = getattr(env, "masks", None)  # None: every row is always live
        # Legal-action masks (None: every action is always legal): the policy samples under them
        # and the experience keeps them, so the update scores the same masked distribution.
        self.env_action_masks = getattr(env, "action_masks", None)
        self.action_masks = None
        if self.env_action_masks is not None:
            view = torch.from_numpy(self.env_action_masks)
            self.action_masks = view if self.device.type == "cpu" else torch.empty_like(view, device=self.device)
        self.obs_stage = torch.empty_like(self.env_obs, device=self.device) if self.device.type != "cpu" else None
        self.done = np.ones(experience.rows, dtype=bool)  # the first step of a run starts episodes
        # A Gaussian's samples are unbounded: the env gets them clipped to its Box, the experience keeps
        # the sampled ones, so log-probabilities (and the loss) are those of what was sampled.
        space = getattr(env, "single_action_space", None)
        self.action_low = self.action_high = None
        if isinstance(space, gymnasium.spaces.Box):
            low, high = (torch.tensor(np.broadcast_to(b, space.shape), dtype=torch.float32, device=self.device)
                         for b in (space.low, space.high))
            if bool(torch.isfinite(low).any() | torch.isfinite(high).any()):
                self.action_low, self.action_high = low, high
        # Async batches (an AsyncVecEnv with batch_size < its env instances): see collect_async.
        batch = getattr(env, "batch_size", None)
        self.is_async = bool(batch) and hasattr(env, "recv") and batch < getattr(env, "num_instances", batch)
        if self.is_async:
            if initial_state is not None:
                raise ValueError("env_batch_size: async collection does not support recurrent policies yet; "
                                 "set env_batch_size = 0")
            self.num_groups = env.num_instances // batch
            self.group_rows = experience.rows // self.num_groups
            self.carry: list | None = None  # per group: its sent step-0 decision of the next collection

    def begin(self, seed) -> None:
        """Resets the env for collection: synchronously, or for async batches ``async_reset``."""
        if self.is_async:
            self.env.async_reset(seed=seed)
            self.carry = None
        else:
            self.env.reset(seed=seed)

    def collect(self, episodes: list[EpisodeWindow | None], reduce_stats=None) -> tuple[float, float]:
        """Fill one batch of ``experience`` and its bootstrap values; finished episodes go to
        ``episodes`` (one window per population member; None: that member's are dropped), through
        ``reduce_stats`` when given (data-parallel ranks: the means over every rank's episodes).
        Returns the seconds spent (stepping the env, everything else)."""
        if self.is_async:
            t_env, t_fwd, stats = self.collect_async()
            self._drain_stats(episodes, reduce_stats, [stats])
            return t_env, t_fwd
        env, policy, dist, exp = self.env, self.policy, self.dist, self.experience
        obs_np, done, masks_np, host = env.observations, self.done, self.env_masks, exp.host_np
        action_masks, actor = self.action_masks, self._actor()
        clock, t_env, t_fwd = time.perf_counter, 0.0, 0.0
        with torch.inference_mode():
            state = self.state
            for t in range(exp.steps):
                t0 = clock()
                host["obs"][:, t] = obs_np
                host["starts"][:, t] = done
                if masks_np is not None:
                    host["masks"][:, t] = masks_np
                if action_masks is not None:
                    host["action_masks"][:, t] = self.env_action_masks
                    if action_masks.device.type != "cpu":
                        action_masks.copy_(torch.from_numpy(self.env_action_masks), non_blocking=True)
                if state is not None:
                    state = self._reset_state(state, t)
                if actor is not None:
                    actions, logprob, value = actor(self._observations(), self.generator, self.env_action_masks)
                else:
                    with self.amp():
                        params, value, state = policy(self._observations(), state)
                    actions, logprob = dist.sample(params.float(), self.generator, action_masks)
                if self.action_low is None:
                    self.env_actions.copy_(actions)
                else:
                    self.env_actions.copy_(torch.clamp(actions, self.action_low, self.action_high))
                for column, x in zip(exp.step_columns[t], (actions, logprob, value)):
                    column.copy_(x)
                t1 = clock()
                _, rewards, terminals, truncations, infos = env.step(env.actions)
                t2 = clock()
                np.multiply(rewards, self.reward_scale, out=host["rewards"][:, t])
                host["terminals"][:, t] = terminals
                host["truncations"][:, t] = truncations
                np.logical_or(terminals, truncations, out=done)
                if infos and "episodes" in infos and episodes[0] is not None:  # an env that drains
                    episodes[0].add(infos)                                       # its stats into infos
                t_env += t2 - t1
                t_fwd += t1 - t0 + clock() - t2
            t0 = clock()
            if state is not None:
                state = self._reset_state(state, None)
            if actor is not None:
                next_value = actor.value(self._observations())
            else:
                with self.amp():
                    _, next_value, _ = policy(self._observations(), state)
            exp.next_values.copy_(next_value)
            if masks_np is not None:  # whether next_value is a padding observation's (see advantage.py)
                host["next_masks"][:] = masks_np
            self.state = None if state is None else tuple(s.clone() for s in state)
            t_fwd += clock() - t0
        self._drain_stats(episodes, reduce_stats)
        return t_env, t_fwd

    def _actor(self):
        """The ``FusedAct`` for this collection's policy, its weights taken; None: torch acts (the
        actor refuses a recurrent policy, or weights off the CPU, itself)."""
        return self.actor if self.actor is not None and self.actor.begin(self.policy) else None

    def _drain_stats(self, episodes, reduce_stats, drained=None) -> None:
        env = self.env
        if drained is None:
            drained = env.member_episode_stats() if len(episodes) > 1 else [env.episode_stats()]
        for window, stats in zip(episodes, drained):
            if reduce_stats is not None:  # a collective: every rank calls it, whatever its window
                stats = reduce_stats(stats)
            if window is not None:
                window.add(stats)

    def collect_async(self) -> tuple[float, float, dict[str, float]]:
        """EnvPool-style collection: ``recv()`` a batch of rows, act on them, ``send()``, while the
        other groups step. Each row keeps its own timeline (its t-th step is column t), each group
        its own step counter; the collection ends when every group has ``steps`` steps, and a
        group's bootstrap value is that of the observation after its last step.

        A group that finishes cannot wait unsent (one batch is held at a time), so its next step is
        decided at once, by this collection's policy, and becomes column 0 of the next collection:
        1 / ``rollout_steps`` of the samples are one update stale, which PPO's ratio (stored
        behaviour log-probabilities) accounts for. Returns the seconds spent (waiting for and
        sending to the env, everything else) and the episodes finished, as ``episode_stats()``.
        """
        env, policy, dist, exp = self.env, self.policy, self.dist, self.experience
        host, G, steps = exp.host_np, self.num_groups, exp.steps
        clock, t_env, t_fwd, actor = time.perf_counter, 0.0, 0.0, self._actor()
        t = np.zeros(G, np.int64)
        acted = [self.carry is not None] * G  # a decision was sent: the next recv holds its outcome
        finished, totals = 0, np.zeros(4, np.float64)
        with torch.inference_mode():
            if self.carry is not None:
                for g, carried in enumerate(self.carry):
                    self._store(g, 0, *carried)
            while finished < G:
                t0 = clock()
                batch = env.recv()
                t1 = clock()
                rows = batch.rows
                g = rows.start // self.group_rows
                if acted[g]:  # the outcome of column t[g]
                    column = t[g]
                    scale = self.reward_scale if np.isscalar(self.reward_scale) else self.reward_scale[rows]
                    np.multiply(batch.rewards, scale, out=host["rewards"][rows, column])
                    host["terminals"][rows, column] = batch.terminals
                    host["truncations"][rows, column] = batch.truncations
                    np.logical_or(batch.terminals, batch.truncations, out=self.done[rows])
                    t[g] += 1
                    # A received group is idle: its episodes can be read. Its envs' totals change
                    # only in a step that ends an episode, so a step that ended none is not read.
                    stats = env.episode_stats() if self.done[rows].any() else None
                    if stats:
                        n = stats["episodes"]
                        totals += (n, n * stats["episode_return"], n * stats["episode_length"], n * stats["score"])
                obs_np = batch.observations  # a view: what is kept past send() is copied
                obs = torch.from_numpy(obs_np)
                if self.device.type != "cpu":
                    obs = obs.to(self.device, non_blocking=True)
                if actor is not None:
                    actions, logprob, value = actor(obs, self.generator, batch.action_masks)
                else:
                    masks = None if batch.action_masks is None else torch.from_numpy(batch.action_masks).to(self.device)
                    with self.amp():
                        params, value, _ = policy(obs, None)
                    actions, logprob = dist.sample(params.float(), self.generator, masks)
                if t[g] == steps:  # done for this collection: bootstrap, and carry the next decision
                    exp.next_values[rows] = value.float()
                    if batch.masks is not None:  # padding after the last step: bootstrap as truncated
                        host["next_masks"][rows] = batch.masks
                    if self.carry is None:
                        self.carry = [None] * G
                    self.carry[g] = (obs_np.copy(), self.done[rows].copy(),
                                     None if batch.masks is None else batch.masks.copy(),
                                     None if batch.action_masks is None else batch.action_masks.copy(),
                                     actions.clone(), logprob.clone(), value.clone())  # value may view obs
                    finished += 1
                else:  # into the experience straight from the batch's views
                    self._store(g, t[g], obs_np, self.done[rows], batch.masks, batch.action_masks,
                                actions, logprob, value)
                if self.action_low is None and self.device.type == "cpu":
                    env.actions[rows] = actions.numpy()
                else:
                    self.env_actions[rows].copy_(actions if self.action_low is None
                                                 else torch.clamp(actions, self.action_low, self.action_high))
                acted[g] = True
                t2 = clock()
                env.send(env.actions[rows])
                t3 = clock()
                t_env += t1 - t0 + t3 - t2
                t_fwd += t2 - t1
        return t_env, t_fwd, summarize(totals)

    def _store(self, g: int, column: int, obs, starts, masks, action_masks, actions, logprob, value) -> None:
        """One group's decision at step ``column`` into the experience."""
        exp, host = self.experience, self.experience.host_np
        rows = slice(g * self.group_rows, (g + 1) * self.group_rows)
        host["obs"][rows, column] = obs
        host["starts"][rows, column] = starts
        if masks is not None and self.env_masks is not None:
            host["masks"][rows, column] = masks
        if action_masks is not None and "action_masks" in host:
            host["action_masks"][rows, column] = action_masks
        if self.device.type == "cpu":  # NumPy's indexing: a few times cheaper than torch's per call
            exp.actions.numpy()[rows, column] = actions.numpy()
            exp.logprobs.numpy()[rows, column] = logprob.numpy()
            exp.values.numpy()[rows, column] = value.float().numpy()
        else:
            exp.actions[rows, column] = actions
            exp.logprobs[rows, column] = logprob
            exp.values[rows, column] = value.float()

    def _observations(self) -> torch.Tensor:
        return self.env_obs if self.obs_stage is None else self.obs_stage.copy_(self.env_obs, non_blocking=True)

    def _reset_state(self, state, t: int | None):
        """Zero the recurrent state of rows whose episode just began; store it at segment starts."""
        keep = torch.from_numpy(~self.done).to(self.device, non_blocking=True).unsqueeze(1)
        state = tuple(s * keep for s in state)
        L = self.experience.segment_length
        if t is not None and t % L == 0:
            for stored, s in zip(self.experience.segment_state, state):
                stored[:, t // L] = s
        return state
