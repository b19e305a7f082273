"""The PPO trainer: collect → advantages → for each epoch, for each minibatch: loss, step → log.

Experience (``sailfish.train.experience``) is allocated once; the update reads it as whole segments,
so recurrent policies train with truncated BPTT. Constructing a ``Trainer`` touches no disk and no
global state: the run directory, torch's thread count and the env's first reset happen when the run
starts (``start()``, called by ``run()`` and by the first ``iteration()``).

Given a list of configs, one ``Trainer`` trains a population: K members in lockstep, each on its own
block of env rows with its own weights, optimizer state and scalar hyperparameters
(``sailfish.train.members``); a list of one is the ordinary run.
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import torch

from sailfish.policies import make_distribution
from sailfish.policies.stacked import make_member_policies
from sailfish.train import distributed, ppo
from sailfish.train.advantage import compute_advantages
from sailfish.train.collector import Collector
from sailfish.train.config import Config
from sailfish.train.env import env_label
from sailfish.train.experience import Experience, Minibatch
from sailfish.train.fused_act import FusedAct
from sailfish.train.fused_update import FusedUpdate
from sailfish.train.hardware import autocast, keep_freed_memory, resolve_precision, resolve_threads
from sailfish.train.interrupt import DeferredInterrupt
from sailfish.train.members import (MemberValues, check_members, clip_member_grad_norms_, member_advantages,
                                    member_means, normalize_member_advantages)
from sailfish.train.metrics import TIMERS, EpisodeWindow, LastUpdate, UpdateStats, episode_metrics
from sailfish.train.runs import RunFiles
from sailfish.train.optim import Adam, clip_grad_norm_
from sailfish.train.overlap import OverlappedCollection
from sailfish.vector.normalize import reward_normalizers


def resolve_device(name: str) -> torch.device:
    """``Config.device`` as a ``torch.device`` ("auto": cuda when available); under torchrun, "cuda"
    is the rank's own GPU (``cuda:LOCAL_RANK``)."""
    name = ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name
    if name == "cuda" and distributed.active() and "LOCAL_RANK" in os.environ:
        name = f"cuda:{os.environ['LOCAL_RANK']}"
    return torch.device(name)


class Trainer:
    """PPO over a vector env, for one run or a population of runs trained together.

    Args:
        env: a vector env with Sailfish's buffers (``sailfish.make``, ``sailfish.vector.make``): rows
            of ``observations``/``actions``/``rewards``/``terminals``/``truncations`` arrays (and
            optionally ``masks``) plus ``episode_stats()``. A population's env gives each member a
            block of rows, member-major, and ``member_episode_stats()`` (``make_env(config, members=...)``).
        policy: a module implementing the ``sailfish.policies`` interface; default ``make_policy``,
            initialised from ``config.seed`` (the global torch generator is left as it was).
        config: hyperparameters (``Config``), or one per population member (a list).
        logger: receives ``log(metrics, step)`` / ``message(text)`` / ``close()`` (e.g. the dashboard);
            run-directory writers (CSV, TensorBoard, W&B) are added when the run starts with
            ``config.runs_dir`` set.
        resume: a run directory (a population's: the directory holding ``member<k>/``): the run
            continues from its newest intact checkpoints, writing into it.
    """

    def __init__(self, env, policy: torch.nn.Module | None = None, config: Config | Sequence[Config] | None = None,
                 logger: Any = None, resume: str | os.PathLike | None = None):
        self.members = list(config) if isinstance(config, (list, tuple)) else [config or Config()]
        check_members(self.members)
        self.config = config = self.members[0]
        K = self.num_members = len(self.members)
        self.env, self.logger, self.resume_dir = env, logger, resume
        self.run_name: str | None = None  # the run directory's name (default <env>-<time>)
        self.device = resolve_device(config.device)
        self.hp = MemberValues(self.members, self.device)
        # Data-parallel ranks (inside an initialised process group): each steps its own envs.
        self.rank, self.world_size = distributed.rank(), distributed.world_size()
        self.rank_seed = distributed.RANK_SEED_STRIDE * self.rank
        # Own generators (actions, each member's minibatch order): a run is reproducible from its
        # checkpoint and never disturbs, or is disturbed by, the caller's use of torch's global one.
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed + self.rank_seed)
        self.shuffle_rngs = [torch.Generator().manual_seed(c.seed + self.rank_seed) for c in self.members]
        self.threads, self.threads_reason = resolve_threads(config.torch_threads, config.minibatch_size,
                                                            config.hidden_size)
        if policy is None:
            # Built under the run's own thread count (then restored: constructing changes no global
            # state): orthogonal init runs LAPACK, whose last bits differ between thread counts, so the
            # first weights would otherwise depend on what ran before in the process.
            previous = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                policy = make_member_policies(env, self.members)
            finally:
                torch.set_num_threads(previous)
        self.policy = policy.to(self.device)
        self.dist = getattr(self.policy, "dist", None) or make_distribution(env.single_action_space)
        self.recurrent = bool(getattr(self.policy, "is_recurrent", False))
        self.forward = torch.compile(self.policy) if config.compile else self.policy
        autocast_dtype, self.precision = resolve_precision(config.precision, self.device)
        # the minibatch gradient in one C call (fp32) where the policy allows (sailfish.train.fused_update)
        self.fused = (FusedUpdate.build(self.policy, self.dist, self.members, self.device, self.threads)
                      if config.fused_update else None)
        if self.fused is not None and autocast_dtype is not None:
            if config.precision == "auto":  # on a small MLP the fp32 kernel beats bf16 matmuls (BENCHMARKS.md)
                autocast_dtype, self.precision = None, "fp32 (a small MLP: the C minibatch kernel, fp32, serves it)"
            else:
                self.fused = None  # bf16 asked for: torch's ops run it
        self.amp = autocast(autocast_dtype, self.device)
        self.params = self.policy.member_parameters() if K > 1 else [p for p in self.policy.parameters()
                                                                      if p.requires_grad]
        self.optimizer = Adam(self.params, lr=config.lr, eps=config.adam_eps,
                              betas=(config.adam_beta1, config.adam_beta2), members=K)
        self.average_gradients = distributed.GradientAverager(self.params)

        rows = self.rows = int(env.observations.shape[0])
        self.batch_size = rows * config.rollout_steps // K  # per member
        if self.batch_size % config.minibatch_size or config.minibatch_size > self.batch_size:
            raise ValueError(f"minibatch_size: must divide the batch, rows x rollout_steps = {rows // K} x "
                             f"{config.rollout_steps} = {self.batch_size}, got {config.minibatch_size}")
        # total_steps counts the samples of every rank: each update takes batch_size x world_size
        self.num_updates = max(1, -(-config.total_steps // (self.batch_size * self.world_size)))
        state = self.policy.initial_state(rows, self.device) if self.recurrent else None
        self.experience = Experience(
            rows, config.rollout_steps, config.bptt_horizon, env.single_observation_space.shape,
            env.observations.dtype, self.dist.action_shape,
            torch.float32 if env.actions.dtype.kind == "f" else torch.int64, self.device,
            state_shapes=None if state is None else [s.shape[1:] for s in state], members=K,
            action_mask_width=0 if getattr(env, "action_masks", None) is None else env.action_masks.shape[1])
        # reward_norm's running statistics: part of each member's checkpoint, like the observation norm
        self.reward_norms = reward_normalizers(env, K)
        reward_scale = self.hp.per_member("reward_scale")
        self.collector = Collector(env, self.forward, self.dist, self.experience, self.generator, state,
                                   reward_scale[0] if len(set(reward_scale)) == 1 else reward_scale, self.amp,
                                   actor=self._rollout_actor(config, autocast_dtype))

        self.global_step = self.update_count = self.resumed_step = 0  # steps: per member, all ranks
        self.budget_clock = 0.0  # elapsed() at the latest update's end, rank 0's on every rank (max_seconds)
        self.member_episodes = [EpisodeWindow(min_episodes=rows // K) for _ in range(K)]
        self.episodes = self.member_episodes[0]
        self.solved_at: list[float | None] = [None] * K  # elapsed seconds when a member reached target_return
        self.timers = dict.fromkeys(TIMERS, 0.0)
        self.last_update: LastUpdate | None = None
        self.files = RunFiles(self.members)
        self.overlap: OverlappedCollection | None = None  # with overlap_update, made by start()
        if config.overlap_update and (K > 1 or self.world_size > 1):
            raise ValueError("overlap_update: trains one run in one process; set it false for populations "
                             "(--seeds, ablations) and torchrun ranks")
        self.started = False
        self.session_start = time.perf_counter()
        self.elapsed_before = 0.0  # wallclock of earlier sessions of a resumed run

    def _rollout_actor(self, config: Config, autocast_dtype) -> FusedAct | None:
        """The C rollout step (``sailfish.train.fused_act``) where it may serve: ``fused_act``, CPU,
        one torch thread, fp32 rollouts (it checks the policy itself at each collection)."""
        if not config.fused_act or self.device.type != "cpu" or self.threads != 1 or autocast_dtype is not None:
            return None
        return FusedAct(self.dist)

    # ------------------------------------------------------------------ the run
    def start(self) -> None:
        """Begin the run (once): threads and malloc's reuse of freed memory (process-wide:
        ``hardware.keep_freed_memory``), the run directory (new, or the resumed one), loggers, env reset."""
        if self.started:
            return
        self.started, cfg, K = True, self.config, self.num_members
        torch.set_num_threads(self.threads)
        if self.device.type == "cpu":
            keep_freed_memory()
        saved_world = self.world_size
        if self.rank == 0:  # rank 0 alone reads and writes the run directory
            if self.resume_dir is not None:
                saved_world = self.restore(self.resume_dir)
            else:
                self.files.create(env_label(self.env, cfg), self.run_name)
            self.files.open_loggers()
        if self.world_size > 1:
            distributed.sync_from_rank0(self, saved_world)
        self.budget_clock = self.elapsed_before  # a resumed run's budget counts its earlier sessions
        # A resumed run restarts from fresh episodes, seeded apart from the first session's (and
        # every rank's envs apart from the others').
        seeds = [c.seed + 1_000_003 * self.update_count + self.rank_seed for c in self.members]
        self.collector.begin(seeds[0] if K == 1 else seeds)
        if cfg.overlap_update:
            self.overlap = OverlappedCollection(self)
        self.session_start = time.perf_counter()

    def run(self) -> dict[str, float]:
        """Train until ``total_steps``, ``max_seconds`` or every member's ``target_return``; returns the
        last metrics."""
        cfg = self.config
        self.start()
        self._message(f"run dir: {self.run_dir}" if self.run_dir else "run dir: none (runs_dir is empty)")
        self._message(f"precision: {self.precision}; torch threads: {self.threads} ({self.threads_reason})")
        last_log, metrics = -float("inf"), {}
        try:
            with DeferredInterrupt() as interrupt:
                while not self.finished():
                    interrupt.check()
                    self.iteration()
                    t0 = time.perf_counter()
                    newly = self._check_targets()
                    done = all(s is not None for s in self.solved_at) or self.finished()
                    if cfg.checkpoint_interval and self.update_count % cfg.checkpoint_interval == 0 and not done:
                        self.save()
                    if done or newly or t0 - last_log >= cfg.log_seconds:
                        metrics, last_log = self.metrics(), t0
                        if self.logger is not None:
                            self.logger.log(metrics, self.global_step)
                        for k in range(self.num_members):
                            if self.solved_at[k] is None or k in newly or done:
                                self.files.log(k, self.metrics(k), self.global_step)
                    self.timers["other"] += time.perf_counter() - t0
                    if done:
                        break
            self.save()
        finally:
            self.close()
        return metrics

    def _check_targets(self) -> list[int]:
        """Members that reached ``target_return`` this iteration: they stop learning from now on."""
        newly = []
        for k, window in enumerate(self.member_episodes):
            if self.solved_at[k] is None and window.full() and window.mean("episode_return") >= self.config.target_return:
                self.solved_at[k] = self.elapsed()
                newly.append(k)
                who = "" if self.num_members == 1 else f"member {k}: "
                self._message(f"{who}target_return {self.config.target_return} reached at step {self.global_step}")
        return newly

    def iteration(self) -> None:
        """One collection and one PPO update on it (with ``overlap_update``: the update on the batch
        collected meanwhile, while the next one is collected)."""
        self.start()  # makes the overlapped collection, with overlap_update
        if self.overlap is not None:
            self.overlap.next_batch()
        else:
            self.collect()
        self.update()

    def collect(self) -> None:
        """Step every row ``rollout_steps`` times, storing experience; then the bootstrap values."""
        self.start()
        if self.overlap is not None and self.overlap.future is not None:
            raise RuntimeError("collect(): a background collection owns the env (overlap_update); call "
                               "iteration(), which trains on it")
        windows = [None if solved is not None else w for w, solved in zip(self.member_episodes, self.solved_at)]
        reduce = distributed.reduce_episode_stats if self.world_size > 1 else None
        t_env, t_forward = self.collector.collect(windows, reduce)
        self.global_step += self.batch_size * self.world_size
        self.timers["env"] += t_env
        self.timers["forward"] += t_forward

    # ------------------------------------------------------------------ update
    def update(self) -> None:
        """Advantages, then ``update_epochs`` passes of PPO over minibatches of whole segments."""
        cfg, exp = self.config, self.experience
        t_start = time.perf_counter()
        exp.to_device()
        lr = self._anneal_lr()
        # Padding rows (absent or dead agents, an opponent's turn) carry no decision: they are left out
        # of every loss term, advantage normalisation, prioritized sampling, observation statistics and
        # metric, and GAE passes their rewards and episode ends to the row's previous live step.
        padded = self._padded()
        live = exp.masks.float() if padded else None
        norm = self.policy.observation_norm() if hasattr(self.policy, "observation_norm") else None
        if norm is not None:  # this batch's statistics take effect after the update on it
            norm.observe(exp.live_samples(exp.obs, padded))
        exp.ratios.fill_(1.0)
        stats = UpdateStats(self.num_members)
        beta = cfg.prio_beta0 + (1.0 - cfg.prio_beta0) * self.progress()
        for epoch in range(cfg.update_epochs):
            if epoch == 0 or cfg.vtrace:
                self.compute_advantages(padded)
            if epoch == 0:
                stats.explained_variance = stats.per_member_explained_variance(exp, padded)
            for mb in exp.minibatches(cfg.minibatch_size, self.shuffle_rngs, live, cfg.prio_alpha, beta):
                if self.fused is not None and self.fused.takes(mb):  # the same gradient in one C call
                    policy_loss, value_loss, entropy, ratio = self.fused.gradients(mb)
                    self._keep_ratios(mb, ratio)
                    stats.add_minibatch(policy_loss, value_loss, entropy)
                    self.step()
                else:
                    self.step(self.loss(mb, stats))
        self.update_count += 1
        if cfg.max_seconds > 0:
            self.budget_clock = self._rank0_elapsed()
        if norm is not None:
            norm.commit(distributed.sum_over_ranks if self.world_size > 1 else None)
        self.last_update = stats.summary(exp, padded, self.hp.per_member("clip_coef"), lr)
        self.timers["learn"] += time.perf_counter() - t_start

    def progress(self) -> float:
        """The fraction of the run done, 0 to 1: updates over ``num_updates`` or, with ``max_seconds``,
        wallclock at the latest update over it, whichever is further."""
        frac = self.update_count / self.num_updates
        if self.config.max_seconds > 0:
            frac = max(frac, self.budget_clock / self.config.max_seconds)
        return min(1.0, frac)

    def finished(self) -> bool:
        """Whether the run has reached ``total_steps`` or, with ``max_seconds``, its wallclock budget
        (as of the latest update: the same answer on every rank)."""
        cfg = self.config
        return self.global_step >= cfg.total_steps or (cfg.max_seconds > 0 and self.budget_clock >= cfg.max_seconds)

    def _rank0_elapsed(self) -> float:
        """``elapsed()``, rank 0's on every rank (ranks must anneal and stop at the same update)."""
        if self.world_size == 1:
            return self.elapsed()
        clock = torch.tensor([self.elapsed()], dtype=torch.float64, device=self.device)
        distributed.broadcast_tensors([clock], dtype=torch.float64)
        return float(clock.item())

    def _anneal_lr(self) -> list[float]:
        frac = 1.0 - self.progress() if self.config.anneal_lr else 1.0
        lrs = [c.lr * frac if solved is None else 0.0 for c, solved in zip(self.members, self.solved_at)]
        self.optimizer.param_groups[0]["lr"] = lrs[0] if self.num_members == 1 else lrs
        return lrs

    def _padded(self) -> bool:
        """Whether this batch has padding steps, or a row ends on one (syncs with the device)."""
        exp = self.experience
        return self.collector.env_masks is not None and (exp.any_padding() or not bool(exp.next_masks.all()))

    def compute_advantages(self, padded: bool | None = None) -> None:
        """GAE (V-trace-clipped by the latest ratios) into ``advantages``; ``returns = advantages + values``.

        ``padded``: the batch has padding steps (None: look), which GAE makes transparent
        (``sailfish.train.advantage``)."""
        padded = self._padded() if padded is None else padded
        member_advantages(self.experience, self.hp, compute_advantages, padded)

    def loss(self, mb: Minibatch, stats: UpdateStats) -> torch.Tensor:
        """PPO's clipped policy loss + vf_coef x value loss - ent_coef x entropy (each member's own mean)."""
        hp, K = self.hp, self.num_members
        params, new_values = self.evaluate(mb)
        if mb.action_masks is None:
            new_logprobs, entropy = self.dist.logprob_entropy(params, mb.actions)
        else:  # the masks the actions were sampled under: the same distribution as the behaviour's
            new_logprobs, entropy = self.dist.logprob_entropy(params, mb.actions, mb.action_masks)
        entropy = entropy if mb.live is None else ppo.weighted(entropy, mb.live)
        entropy = ppo.entropy_bonus(entropy) if K == 1 else member_means(entropy, K)
        advantages = mb.advantages
        if self.config.norm_adv:
            advantages = (ppo.normalize_advantages(advantages, weights=mb.live) if K == 1
                          else normalize_member_advantages(advantages, mb.live))
        # policy_loss + vf_coef * value_loss with one autograd node (see ppo.FusedPPOLoss)
        loss, policy_loss, value_loss, ratio = ppo.FusedPPOLoss.apply(
            new_logprobs, new_values, mb.logprobs, advantages, mb.values, mb.returns,
            hp["clip_coef"], hp["vf_clip_coef"], hp["vf_coef"], mb.weights, mb.live, K)
        self._keep_ratios(mb, ratio)
        stats.add_minibatch(policy_loss, value_loss, entropy)
        ent_coef = hp["ent_coef"]
        if isinstance(ent_coef, torch.Tensor):
            return loss - (ent_coef.reshape(K) * entropy).sum()
        return loss - ent_coef * entropy.sum() if ent_coef > 0 else loss

    def _keep_ratios(self, mb: Minibatch, ratio: torch.Tensor) -> None:
        """Each sample's latest ratio: V-trace weights for the next epoch, approx_kl / clipfrac at the end."""
        ratios = self.experience.member_segments(self.experience.ratios)
        if mb.index is None:
            ratios.copy_(ratio)
        else:
            ratios[torch.arange(self.num_members, device=self.device)[:, None], mb.index] = ratio

    def evaluate(self, mb: Minibatch) -> tuple[torch.Tensor, torch.Tensor]:
        """The current policy on a minibatch: action parameters ``[K, S, L, P]`` and values ``[K, S, L]``."""
        shape = mb.logprobs.shape
        with self.amp():  # bf16 matmuls where asked for; what comes out is fp32 again
            if self.recurrent:
                flat = lambda x: x.flatten(0, 1)  # noqa: E731
                params, values, _ = self.policy.forward_sequence(flat(mb.obs), tuple(map(flat, mb.state)),
                                                                 flat(mb.starts))
            else:
                params, values, _ = self.policy(mb.obs.reshape(-1, *mb.obs.shape[3:]), None)
        return params.float().view(*shape, -1), values.float().view(shape)

    def step(self, loss: torch.Tensor | None = None) -> None:
        """Backward (``loss``; None: the parameters' ``.grad`` are already set), clip each member's
        gradient to its global norm, one Adam step."""
        if loss is not None:
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        self.average_gradients()  # over data-parallel ranks (no-op in one process)
        if self.num_members == 1:
            clip_grad_norm_(self.params, self.config.max_grad_norm)
        else:
            clip_member_grad_norms_(self.params, self.hp["max_grad_norm"])
        self.optimizer.step()

    # ------------------------------------------------------------------ metrics
    def elapsed(self) -> float:
        """Wallclock seconds of this run, earlier sessions of a resumed run included."""
        return self.elapsed_before + time.perf_counter() - self.session_start

    def metrics(self, member: int = 0) -> dict[str, float]:
        """Member ``member``'s current metrics as Python floats (syncs with the device: once per log)."""
        session = time.perf_counter() - self.session_start
        out: dict[str, float] = {"update": float(self.update_count), "elapsed_s": self.elapsed(),
                                 "sps": (self.global_step - self.resumed_step) * self.num_members / max(session, 1e-9),
                                 "progress": self.progress()}
        out.update(episode_metrics(self.member_episodes[member]))
        if self.last_update is not None:
            out.update(self.last_update.as_floats(member))
        if self.solved_at[member] is not None:
            out["solved_s"] = self.solved_at[member]
        out.update({f"time/{k}": v for k, v in self.timers.items()})
        return out

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self, member: int = 0) -> dict[str, Any]:
        """What a resumed run of ``member`` needs, as an ordinary run's checkpoint (tensors, numbers,
        strings, dicts only: loadable safely)."""
        K = self.num_members
        return {"policy": self.policy.state_dict() if K == 1 else self.policy.member_state_dict(member),
                "optimizer": self.optimizer.state_dict() if K == 1 else self.optimizer.member_state_dict(member),
                "global_step": self.global_step, "update": self.update_count,
                "config": self.members[member].to_dict(), "generator": self.generator.get_state(),
                "shuffle_rng": self.shuffle_rngs[member].get_state(), "elapsed_s": self.elapsed(),
                "solved_s": self.solved_at[member], "world_size": self.world_size,
                "reward_norm": None if self.reward_norms[member] is None else self.reward_norms[member].state_dict()}

    def restore(self, run_dir: str | os.PathLike) -> int:
        """Load the newest intact checkpoint(s) of ``run_dir`` and continue that run; returns the number
        of data-parallel ranks it was trained with."""
        for k, (path, payload) in enumerate(self.files.resume(run_dir)):
            if self.num_members == 1:
                self.policy.load_state_dict(payload["policy"])
                self.optimizer.load_state_dict(payload["optimizer"])
            else:
                self.policy.load_member_state_dict(k, payload["policy"])
                self.optimizer.load_member_state_dict(k, payload["optimizer"])
            self.shuffle_rngs[k].set_state(payload["shuffle_rng"])
            self.solved_at[k] = payload.get("solved_s")
            self._restore_reward_norm(k, path, payload.get("reward_norm"))
            if k == 0:
                self.global_step = self.resumed_step = int(payload["global_step"])
                self.update_count = int(payload["update"])
                self.generator.set_state(payload["generator"])
                self.elapsed_before = float(payload.get("elapsed_s", 0.0))
                self.resumed_from = path
                saved_world = int(payload.get("world_size", 1))
        if self.world_size == 1 and saved_world != 1:
            raise ValueError(distributed.world_mismatch(saved_world, 1))
        return saved_world

    def _restore_reward_norm(self, member: int, path: Path, saved: dict[str, float] | None) -> None:
        norm = self.reward_norms[member]
        if norm is None:
            return
        if saved is None:  # a checkpoint written before the statistics were saved
            warnings.warn(f"{path}: holds no reward_norm statistics; they start afresh (rewards are scaled "
                          "differently until they settle)", stacklevel=3)
        else:
            norm.load_state_dict(saved)

    def save(self) -> list[Path]:
        """Write a checkpoint of the current update to each member's run directory (none without one)."""
        saved = [self.files.save(k, self.update_count, self.state_dict(k)) for k in range(self.num_members)]
        return [path for path in saved if path is not None]

    @property
    def run_dir(self) -> Path | None:
        """The run's directory (a population's holds ``member<k>/``); None when nothing is written."""
        return self.files.root

    @property
    def run_dirs(self) -> list[Path | None]:
        """Each member's run directory."""
        return self.files.dirs

    # ------------------------------------------------------------------ output
    def _message(self, text: str) -> None:
        if self.logger is not None and hasattr(self.logger, "message"):
            self.logger.message(text)

    def close(self) -> None:
        """Join a collection in flight, flush and close the loggers (the env is the caller's)."""
        if self.overlap is not None:
            self.overlap.close()
            self.overlap = None
        if self.logger is not None:
            self.logger.close()
        self.logger = None
        self.files.close()

    # ------------------------------------------------------------------ old names (one release)
    def learn(self) -> None:
        """Deprecated: ``update()`` (one PPO update; ``run()`` trains)."""
        warnings.warn("Trainer.learn() is now Trainer.update(); run() trains", DeprecationWarning, stacklevel=2)
        self.update()

    def train_step(self) -> None:
        """Deprecated: ``iteration()``."""
        warnings.warn("Trainer.train_step() is now Trainer.iteration()", DeprecationWarning, stacklevel=2)
        self.iteration()
