"""The PPO trainer: collect → advantages → for each epoch, for each minibatch: loss, step → log.

Experience (``sailfish.train.experience``) is allocated once; the update reads it as whole segments,
so recurrent policies train with truncated BPTT. Constructing a ``Trainer`` touches no disk and no
global state: the run directory, torch's thread count and the env's first reset happen when the run
starts (``start()``, called by ``run()`` and by the first ``iteration()``).
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from sailfish.policies import make_distribution, make_policy
from sailfish.train import ppo
from sailfish.train.advantage import compute_advantages
from sailfish.train.checkpoint import load_newest_intact, new_run_dir, save_checkpoint
from sailfish.train.config import Config
from sailfish.train.env import env_label
from sailfish.train.collector import Collector
from sailfish.train.experience import Experience, Minibatch
from sailfish.train.metrics import TIMERS, EpisodeWindow, LastUpdate, UpdateStats, episode_metrics
from sailfish.train.optim import Adam, clip_grad_norm_


def resolve_device(name: str) -> torch.device:
    """``Config.device`` as a ``torch.device`` ("auto": cuda when available)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


class Trainer:
    """PPO over a vector env.

    Args:
        env: a vector env with Sailfish's buffers (``sailfish.make``, ``sailfish.vector.make``): rows
            of ``observations``/``actions``/``rewards``/``terminals``/``truncations`` arrays (and
            optionally ``masks``) plus ``episode_stats()``.
        policy: a module implementing the ``sailfish.policies`` interface; default ``make_policy``,
            initialised from ``config.seed`` (the global torch generator is left as it was).
        config: hyperparameters (``Config``).
        logger: receives ``log(metrics, step)`` / ``message(text)`` / ``close()`` (e.g. the dashboard);
            run-directory writers (CSV, TensorBoard, W&B) are added when the run starts with
            ``config.runs_dir`` set.
        resume: a run directory: the run continues from its newest intact checkpoint, writing into it.
    """

    def __init__(self, env, policy: torch.nn.Module | None = None, config: Config | None = None,
                 logger: Any = None, resume: str | os.PathLike | None = None):
        self.config = config = config or Config()
        self.env, self.logger, self.resume_dir = env, logger, resume
        self.device = resolve_device(config.device)
        # Own generators (actions, minibatch order): a run is reproducible from its checkpoint and
        # never disturbs, or is disturbed by, the caller's use of torch's global generator.
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.shuffle_rng = torch.Generator().manual_seed(config.seed)
        if policy is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.seed)
                policy = make_policy(env, config)
        self.policy = policy.to(self.device)
        self.dist = getattr(self.policy, "dist", None) or make_distribution(env.single_action_space)
        self.recurrent = bool(getattr(self.policy, "is_recurrent", False))
        self.forward = torch.compile(self.policy) if config.compile else self.policy
        self.params = [p for p in self.policy.parameters() if p.requires_grad]
        self.optimizer = Adam(self.params, lr=config.lr, eps=config.adam_eps,
                              betas=(config.adam_beta1, config.adam_beta2))

        rows = self.rows = int(env.observations.shape[0])
        self.batch_size = rows * config.rollout_steps
        if self.batch_size % config.minibatch_size or config.minibatch_size > self.batch_size:
            raise ValueError(f"minibatch_size: must divide the batch, rows x rollout_steps = {rows} x "
                             f"{config.rollout_steps} = {self.batch_size}, got {config.minibatch_size}")
        self.num_updates = max(1, -(-config.total_steps // self.batch_size))
        state = self.policy.initial_state(rows, self.device) if self.recurrent else None
        self.experience = Experience(
            rows, config.rollout_steps, config.bptt_horizon, env.single_observation_space.shape,
            env.observations.dtype, self.dist.action_shape,
            torch.float32 if env.actions.dtype.kind == "f" else torch.int64, self.device,
            state_shapes=None if state is None else [s.shape[1:] for s in state])
        self.collector = Collector(env, self.forward, self.dist, self.experience, self.generator, state,
                                   config.reward_scale)

        self.global_step = self.update_count = self.resumed_step = 0
        self.episodes = EpisodeWindow(min_episodes=rows)
        self.timers = dict.fromkeys(TIMERS, 0.0)
        self.last_update: LastUpdate | None = None
        self.run_dir: Path | None = None
        self.file_logger: Any = None
        self.started = False
        self.session_start = time.perf_counter()
        self.elapsed_before = 0.0  # wallclock of earlier sessions of a resumed run

    # ------------------------------------------------------------------ the run
    def start(self) -> None:
        """Begin the run (once): threads, the run directory (new, or the resumed one), loggers, env reset."""
        if self.started:
            return
        self.started, cfg = True, self.config
        torch.set_num_threads(cfg.torch_threads)
        if self.resume_dir is not None:
            self.restore(self.resume_dir)
        elif cfg.runs_dir:
            self.run_dir = new_run_dir(cfg.runs_dir, env_label(self.env, cfg))
            cfg.save(self.run_dir / "config.toml")
        if self.run_dir is not None:
            from sailfish.loggers import make_run_loggers
            self.file_logger = make_run_loggers(self.run_dir, cfg.to_dict(), wandb=cfg.wandb)
        # A resumed run restarts from fresh episodes, seeded apart from the first session's.
        self.env.reset(seed=cfg.seed + 1_000_003 * self.update_count)
        self.session_start = time.perf_counter()

    def run(self) -> dict[str, float]:
        """Train until ``total_steps`` (or ``target_return``); returns the last metrics."""
        cfg = self.config
        self.start()
        self._message(f"run dir: {self.run_dir}" if self.run_dir else "run dir: none (runs_dir is empty)")
        last_log, metrics = -float("inf"), {}
        try:
            while self.global_step < cfg.total_steps:
                self.iteration()
                t0 = time.perf_counter()
                solved = self.episodes.full() and self.episodes.mean("episode_return") >= cfg.target_return
                done = solved or self.global_step >= cfg.total_steps
                if cfg.checkpoint_interval and self.update_count % cfg.checkpoint_interval == 0 and not done:
                    self.save()
                if done or t0 - last_log >= cfg.log_seconds:
                    metrics, last_log = self.metrics(), t0
                    for logger in (self.logger, self.file_logger):
                        if logger is not None:
                            logger.log(metrics, self.global_step)
                self.timers["other"] += time.perf_counter() - t0
                if solved:
                    self._message(f"target_return {cfg.target_return} reached at step {self.global_step}")
                    break
            self.save()
        finally:
            self.close()
        return metrics

    def iteration(self) -> None:
        """One collection and one PPO update on it."""
        self.collect()
        self.update()

    # ------------------------------------------------------------------ collection
    def collect(self) -> None:
        """Step every row ``rollout_steps`` times, storing experience; then the bootstrap values."""
        self.start()
        t_env, t_forward = self.collector.collect(self.episodes)
        self.global_step += self.experience.size
        self.timers["env"] += t_env
        self.timers["forward"] += t_forward

    # ------------------------------------------------------------------ update
    def update(self) -> None:
        """Advantages, then ``update_epochs`` passes of PPO over minibatches of whole segments."""
        cfg, exp = self.config, self.experience
        t_start = time.perf_counter()
        exp.to_device()
        lr = self._anneal_lr()
        # Padding rows (absent or dead agents) carry no decision: they are left out of every loss
        # term, advantage normalisation, prioritized sampling, observation statistics and metric.
        padded = self.collector.env_masks is not None and exp.any_padding()
        live = exp.segments(exp.masks.float()) if padded else None
        norm = self.policy.observation_norm() if hasattr(self.policy, "observation_norm") else None
        if norm is not None:  # this batch's statistics take effect after the update on it
            norm.observe(exp.live_samples(exp.obs, padded))
        exp.ratios.fill_(1.0)
        stats = UpdateStats()
        for epoch in range(cfg.update_epochs):
            if epoch == 0 or cfg.vtrace:
                self.compute_advantages()
            if epoch == 0:
                stats.explained_variance = ppo.explained_variance(
                    exp.live_samples(exp.values, padded), exp.live_samples(exp.returns, padded))
            beta = cfg.prio_beta0 + (1.0 - cfg.prio_beta0) * self.update_count / self.num_updates
            for mb in exp.minibatches(cfg.minibatch_size, self.shuffle_rng, live, cfg.prio_alpha, beta):
                loss = self.loss(mb, stats)
                self.step(loss)
        self.update_count += 1
        if norm is not None:
            norm.commit()
        self.last_update = stats.summary(exp.live_samples(exp.ratios, padded), cfg.clip_coef, lr)
        self.timers["learn"] += time.perf_counter() - t_start

    def _anneal_lr(self) -> float:
        cfg = self.config
        lr = cfg.lr * (1.0 - self.update_count / self.num_updates) if cfg.anneal_lr else cfg.lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def compute_advantages(self) -> None:
        """GAE (V-trace-clipped by the latest ratios) into ``advantages``; ``returns = advantages + values``."""
        cfg, exp = self.config, self.experience
        compute_advantages(exp.values, exp.rewards, exp.terminals, exp.truncations, exp.ratios, exp.next_values,
                           exp.advantages, cfg.gamma, cfg.gae_lambda, cfg.rho_clip, cfg.c_clip)
        torch.add(exp.advantages, exp.values, out=exp.returns)

    def loss(self, mb: Minibatch, stats: UpdateStats) -> torch.Tensor:
        """PPO's clipped policy loss + vf_coef x value loss - ent_coef x entropy, for one minibatch."""
        cfg = self.config
        params, new_values = self.evaluate(mb)
        new_logprobs, entropy = self.dist.logprob_entropy(params, mb.actions)
        entropy = ppo.entropy_bonus(entropy if mb.live is None else ppo.weighted(entropy, mb.live))
        advantages = ppo.normalize_advantages(mb.advantages, weights=mb.live) if cfg.norm_adv else mb.advantages
        # policy_loss + vf_coef * value_loss with one autograd node (see ppo.FusedPPOLoss)
        loss, policy_loss, value_loss, ratio = ppo.FusedPPOLoss.apply(
            new_logprobs, new_values, mb.logprobs, advantages, mb.values, mb.returns,
            cfg.clip_coef, cfg.vf_clip_coef, cfg.vf_coef, mb.weights, mb.live)
        # Each sample's latest ratio: V-trace weights for the next epoch, approx_kl / clipfrac at the end.
        ratios = self.experience.segments(self.experience.ratios)
        if mb.index is None:
            ratios.copy_(ratio)
        else:
            ratios[mb.index] = ratio
        stats.add_minibatch(policy_loss, value_loss, entropy)
        return loss - cfg.ent_coef * entropy if cfg.ent_coef > 0 else loss

    def evaluate(self, mb: Minibatch) -> tuple[torch.Tensor, torch.Tensor]:
        """The current policy on a minibatch: action parameters ``[S, L, P]`` and values ``[S, L]``."""
        if self.recurrent:
            params, values, _ = self.policy.forward_sequence(mb.obs, mb.state, mb.starts)
            return params, values
        S, L = mb.actions.shape[:2]
        params, values, _ = self.policy(mb.obs.reshape(S * L, *mb.obs.shape[2:]), None)
        return params.view(S, L, -1), values.view(S, L)

    def step(self, loss: torch.Tensor) -> None:
        """Backward, clip the gradient's global norm, one Adam step."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm_(self.params, self.config.max_grad_norm)
        self.optimizer.step()

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> dict[str, float]:
        """Current metrics as Python floats (this syncs with the device: call once per log)."""
        session = time.perf_counter() - self.session_start
        out: dict[str, float] = {"update": float(self.update_count), "elapsed_s": self.elapsed_before + session,
                                 "sps": (self.global_step - self.resumed_step) / max(session, 1e-9)}
        out.update(episode_metrics(self.episodes))
        if self.last_update is not None:
            out.update(self.last_update.as_floats())
        out.update({f"time/{k}": v for k, v in self.timers.items()})
        return out

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (tensors, numbers, strings, dicts only: loadable safely)."""
        return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
                "global_step": self.global_step, "update": self.update_count, "config": self.config.to_dict(),
                "generator": self.generator.get_state(), "shuffle_rng": self.shuffle_rng.get_state(),
                "elapsed_s": self.elapsed_before + time.perf_counter() - self.session_start}

    def restore(self, run_dir: str | os.PathLike) -> Path:
        """Load the newest intact checkpoint of ``run_dir`` and continue that run; returns the file."""
        path, payload = load_newest_intact(run_dir)
        self.policy.load_state_dict(payload["policy"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.global_step = self.resumed_step = int(payload["global_step"])
        self.update_count = int(payload["update"])
        self.generator.set_state(payload["generator"])
        self.shuffle_rng.set_state(payload["shuffle_rng"])
        self.elapsed_before = float(payload.get("elapsed_s", 0.0))
        self.run_dir, self.resumed_from = Path(run_dir), path
        return path

    def save(self) -> Path | None:
        """Write a checkpoint of the current update to the run directory (no-op without one)."""
        if self.run_dir is None:
            return None
        return save_checkpoint(self.run_dir, self.update_count, self.state_dict(), keep=self.config.keep_checkpoints)

    # ------------------------------------------------------------------ output
    def _message(self, text: str) -> None:
        if self.logger is not None and hasattr(self.logger, "message"):
            self.logger.message(text)

    def close(self) -> None:
        """Flush and close the loggers (the env is the caller's)."""
        for logger in (self.logger, self.file_logger):
            if logger is not None:
                logger.close()
        self.logger = self.file_logger = None

    # ------------------------------------------------------------------ old names (one release)
    def learn(self) -> None:
        """Deprecated: ``update()`` (one PPO update; ``run()`` trains)."""
        warnings.warn("Trainer.learn() is now Trainer.update(); run() trains", DeprecationWarning, stacklevel=2)
        self.update()

    def train_step(self) -> None:
        """Deprecated: ``iteration()``."""
        warnings.warn("Trainer.train_step() is now Trainer.iteration()", DeprecationWarning, stacklevel=2)
        self.iteration()
