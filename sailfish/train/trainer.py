"""The PPO trainer: collect → advantages → update → log / checkpoint, over any vector env.

Experience lives in tensors allocated once, laid out per agent timeline ``[A, T, ...]`` and viewed as
segments ``[A * T / bptt_horizon, bptt_horizon, ...]`` (one agent's contiguous stretch of time) for the
update, so recurrent policies train with truncated BPTT over whole segments.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sailfish.policies import make_distribution, make_policy
from sailfish.train import ppo
from sailfish.train.advantage import compute_advantages
from sailfish.train.checkpoint import load_newest_intact, new_run_dir, save_checkpoint
from sailfish.train.config import Config
from sailfish.train.optim import Adam, clip_grad_norm_

_TIMERS = ("env", "forward", "learn", "other")


class EpisodeWindow:
    """Weighted means of the most recent episode statistics covering at least ``min_episodes`` episodes.

    Fed the dicts ``env.episode_stats()`` returns (means plus an ``episodes`` count).
    """

    def __init__(self, min_episodes: int):
        self.min_episodes = max(1, min_episodes)
        self.batches: list[dict[str, float]] = []

    def add(self, stats: dict[str, float]) -> None:
        if stats and stats.get("episodes", 0) > 0:
            self.batches.append(stats)
            count = 0
            for i in range(len(self.batches) - 1, -1, -1):  # drop batches no longer needed
                count += self.batches[i]["episodes"]
                if count >= self.min_episodes:
                    del self.batches[:i]
                    break

    @property
    def count(self) -> int:
        return int(sum(b["episodes"] for b in self.batches))

    def mean(self, key: str) -> float:
        total = sum(b["episodes"] for b in self.batches if key in b)
        if not total:
            return math.nan
        return sum(b[key] * b["episodes"] for b in self.batches if key in b) / total


def _torch_dtype(np_dtype) -> torch.dtype:
    return torch.from_numpy(np.zeros(1, dtype=np_dtype)).dtype


class Trainer:
    """PPO over a vector env.

    Args:
        env: a vector env with Sailfish's buffers (``sailfish.make``) or any Gymnasium vector env with
            ``observations``/``actions``/``rewards``/``terminals``/``truncations`` arrays and
            ``episode_stats()``.
        policy: a module implementing the ``sailfish.policies`` interface; default ``make_policy``.
        config: hyperparameters (``Config``); ``config.env`` only names the run.
        logger: receives ``log(metrics, step)`` / ``message(text)`` / ``close()`` (e.g. the dashboard);
            run-directory writers (CSV, TensorBoard, W&B) are added when ``config.runs_dir`` is set.
        resume: a run directory: continue from its newest intact checkpoint, writing into it.
    """

    def __init__(self, env, policy: torch.nn.Module | None = None, config: Config | None = None,
                 logger: Any = None, resume: str | os.PathLike | None = None):
        self.config = config = config or Config()
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)
        torch.set_num_threads(config.torch_threads)
        device = config.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"

        self.env = env
        self.policy = (policy if policy is not None else make_policy(env, config)).to(self.device)
        self.dist = getattr(self.policy, "dist", None) or make_distribution(env.single_action_space)
        self.recurrent = bool(getattr(self.policy, "is_recurrent", False))
        self._forward = torch.compile(self.policy) if config.compile else self.policy
        self.params = [p for p in self.policy.parameters() if p.requires_grad]
        self.optimizer = Adam(self.params, lr=config.lr, eps=config.adam_eps,
                              betas=(config.adam_beta1, config.adam_beta2))
        # Minibatch order has its own generator, so an update is reproducible from a checkpoint
        # whatever the rollout consumed from the global one.
        self.shuffle_rng = torch.Generator().manual_seed(config.seed)

        A, T, L = env.num_envs, config.rollout_steps, config.bptt_horizon
        self.A, self.T, self.L, self.S = A, T, L, A * T // L
        self.batch_size = A * T  # rows (agents, not env instances) x steps
        if self.batch_size % config.minibatch_size or config.minibatch_size > self.batch_size:
            raise ValueError(f"minibatch_size: must divide the batch, rows x rollout_steps = {A} x {T} = "
                             f"{self.batch_size}, got {config.minibatch_size}")
        self.num_updates = max(1, -(-config.total_steps // self.batch_size))
        obs_shape = tuple(env.single_observation_space.shape)
        host = dict(pin_memory=True) if cuda else {}
        dev = dict(device=self.device)

        # Host side: what the env produces, written through NumPy views (cheapest per-step writes).
        obs_dtype = _torch_dtype(env.observations.dtype)
        self.obs_host = torch.zeros((A, T) + obs_shape, dtype=obs_dtype, **host)
        self.rewards_host = torch.zeros(A, T, **host)
        self.terminals_host = torch.zeros(A, T, dtype=torch.bool, **host)
        self.truncations_host = torch.zeros(A, T, dtype=torch.bool, **host)
        self.starts_host = torch.zeros(A, T, dtype=torch.bool, **host)  # episode began at this step
        # Live rows (the env's masks when the observation was made): padding rows of absent or dead
        # agents carry no decision, so they are left out of every loss term, advantage
        # normalisation, prioritized sampling, observation statistics and the logged metrics.
        # Vector envs without a masks buffer are all live.
        self.env_masks = getattr(env, "masks", None)
        self.masks_host = torch.ones(A, T, dtype=torch.bool, **host)
        self._np = {k: getattr(self, f"{k}_host").numpy()
                    for k in ("obs", "rewards", "terminals", "truncations", "starts", "masks")}
        # Device side: the same tensors on CPU, mirrors filled once per update on a GPU.
        mirror = (lambda t: torch.empty_like(t, device=self.device)) if cuda else (lambda t: t)
        self.obs, self.rewards = mirror(self.obs_host), mirror(self.rewards_host)
        self.terminals, self.truncations = mirror(self.terminals_host), mirror(self.truncations_host)
        self.starts, self.masks = mirror(self.starts_host), mirror(self.masks_host)
        act_dtype = torch.float32 if env.actions.dtype.kind == "f" else torch.int64
        self.actions = torch.zeros((A, T) + tuple(self.dist.action_shape), dtype=act_dtype, **dev)
        self.logprobs = torch.zeros(A, T, **dev)
        self.values = torch.zeros(A, T, **dev)
        self.advantages = torch.zeros(A, T, **dev)
        self.ratios = torch.ones(A, T, **dev)
        self.next_values = torch.zeros(A, **dev)
        self.packed = torch.zeros(A, T, 4, **dev)
        # Per-column views, made once: indexing in the hot loop would build them every step.
        self._cols = [(self.actions[:, t], self.logprobs[:, t], self.values[:, t]) for t in range(T)]

        # Zero-copy views of the env's buffers.
        self.env_obs = torch.from_numpy(env.observations)
        self.env_actions = torch.from_numpy(env.actions)
        self.obs_stage = torch.empty_like(self.env_obs, device=self.device) if cuda else None
        self.done = np.ones(A, dtype=bool)  # the first step of a run starts episodes
        self.state = self.policy.initial_state(A, self.device) if self.recurrent else None
        if self.recurrent:  # recurrent state before the first step of every segment
            self.segment_state = tuple(torch.zeros((A, T // L) + s.shape[1:], device=self.device)
                                       for s in self.state)

        self.global_step = 0
        self.update_count = 0
        self.episodes = EpisodeWindow(min_episodes=A)
        self.timers = dict.fromkeys(_TIMERS, 0.0)
        self._losses: dict[str, torch.Tensor] = {}
        self._elapsed_before = 0.0  # wallclock of earlier sessions of a resumed run

        self.run_dir: Path | None = None
        if resume is not None:
            self.run_dir = Path(resume)
            self._restore(*load_newest_intact(self.run_dir))
        elif config.runs_dir:
            self.run_dir = new_run_dir(config.runs_dir, config.env)
            config.save(self.run_dir / "config.toml")
        self.logger = logger
        self.file_logger = None
        if self.run_dir is not None:
            from sailfish.loggers import make_run_loggers
            self.file_logger = make_run_loggers(self.run_dir, config.to_dict(), wandb=config.wandb)
        # On resume the env restarts from fresh episodes, seeded apart from the first session's.
        env.reset(seed=config.seed + 1_000_003 * self.update_count)

    # ------------------------------------------------------------------ collection
    def collect(self) -> None:
        """Step every agent ``rollout_steps`` times, storing experience; then the bootstrap values."""
        env, policy, dist = self.env, self._forward, self.dist
        obs_np, done, masks_np = env.observations, self.done, self.env_masks
        reward_scale = self.config.reward_scale
        npb = self._np
        cuda = self.obs_stage is not None
        t_env = t_fwd = 0.0
        clock = time.perf_counter
        with torch.inference_mode():
            state = self.state
            for t in range(self.T):
                t0 = clock()
                npb["obs"][:, t] = obs_np
                npb["starts"][:, t] = done
                if masks_np is not None:
                    npb["masks"][:, t] = masks_np
                if self.recurrent:
                    keep = torch.from_numpy(~done).to(self.device, non_blocking=True).unsqueeze(1)
                    state = tuple(s * keep for s in state)
                    if t % self.L == 0:
                        for buf, s in zip(self.segment_state, state):
                            buf[:, t // self.L] = s
                obs = self.obs_stage.copy_(self.env_obs, non_blocking=True) if cuda else self.env_obs
                params, value, state = policy(obs, state)
                actions, logprob = dist.sample(params)
                self.env_actions.copy_(actions)
                act_col, logp_col, val_col = self._cols[t]
                act_col.copy_(actions)
                logp_col.copy_(logprob)
                val_col.copy_(value)
                t1 = clock()
                _, rewards, terminals, truncations, infos = env.step(env.actions)
                t2 = clock()
                if reward_scale == 1.0:
                    npb["rewards"][:, t] = rewards
                else:
                    np.multiply(rewards, reward_scale, out=npb["rewards"][:, t])
                npb["terminals"][:, t] = terminals
                npb["truncations"][:, t] = truncations
                np.logical_or(terminals, truncations, out=done)
                if infos and "episodes" in infos:  # an env that drains its stats into infos itself
                    self.episodes.add(infos)
                t_env += t2 - t1
                t_fwd += t1 - t0 + clock() - t2
            t0 = clock()
            if self.recurrent:
                keep = torch.from_numpy(~done).to(self.device).unsqueeze(1)
                state = tuple(s * keep for s in state)
            obs = self.obs_stage.copy_(self.env_obs, non_blocking=True) if cuda else self.env_obs
            _, next_value, next_state = policy(obs, state)
            self.next_values.copy_(next_value)
            self.state = None if state is None else tuple(s.clone() for s in state)
            t_fwd += clock() - t0
        self.episodes.add(env.episode_stats())
        self.global_step += self.A * self.T
        self.timers["env"] += t_env
        self.timers["forward"] += t_fwd

    # ------------------------------------------------------------------ update
    def learn(self) -> None:
        """Advantages, then ``update_epochs`` passes of PPO over minibatches of whole segments."""
        cfg = self.config
        t_start = time.perf_counter()
        if self.obs_stage is not None:  # host → GPU, once per update
            for name in ("obs", "rewards", "terminals", "truncations", "starts", "masks"):
                getattr(self, name).copy_(getattr(self, f"{name}_host"), non_blocking=True)
        frac = 1.0 - self.update_count / self.num_updates
        lr = cfg.lr * frac if cfg.anneal_lr else cfg.lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        S, L = self.S, self.L
        seg = lambda x: x.view(S, L, *x.shape[2:])  # noqa: E731
        obs, actions, starts = seg(self.obs), seg(self.actions), seg(self.starts)
        # Sample weights that leave padding rows out: mask / (live fraction of the minibatch), so a
        # weighted mean is the mean over live samples. None when every row is live (the common case).
        masked = self.env_masks is not None and not bool(self.masks.all())
        live = seg(self.masks.float()) if masked else None
        keep = (lambda x: x[self.masks]) if masked else (lambda x: x.flatten())  # noqa: E731  live samples
        advantages, ratios = seg(self.advantages), seg(self.ratios)
        seg_state = None
        if self.recurrent:
            seg_state = tuple(s.reshape(S, *s.shape[2:]) for s in self.segment_state)

        self.ratios.fill_(1.0)
        norm = self.policy.observation_norm() if hasattr(self.policy, "observation_norm") else None
        if norm is not None:  # this rollout's statistics take effect after the update on it
            norm.observe(self.obs[self.masks] if masked else self.obs.reshape(self.A * self.T, -1))
        segments_per_mb = cfg.minibatch_size // L
        num_mb = S // segments_per_mb
        beta = cfg.prio_beta0 + (1.0 - cfg.prio_beta0) * self.update_count / self.num_updates
        # Per-sample scalars packed into one tensor, so a minibatch is gathered with one index op.
        packed = self.packed  # [A, T, 4]: old logprob, advantage, return, old value
        packed[..., 0] = self.logprobs
        packed[..., 3] = self.values
        full_batch = num_mb == 1 and cfg.prio_alpha == 0
        entropies = []
        packed_seg = seg(packed)
        losses = []
        for epoch in range(cfg.update_epochs):
            if epoch == 0 or cfg.vtrace:
                self._advantages()
                packed[..., 1] = self.advantages
                torch.add(self.advantages, self.values, out=packed[..., 2])
            if epoch == 0:
                explained_var = ppo.explained_variance(keep(self.values), keep(packed[..., 2]))
            weights_all = None
            if cfg.prio_alpha > 0:
                prio = (advantages.abs() if live is None else advantages.abs() * live).sum(1).pow(cfg.prio_alpha)
                probs = prio / prio.sum()
                order = torch.multinomial(probs.cpu(), S, replacement=True, generator=self.shuffle_rng)
                order = order.to(self.device)
                weights_all = (S * probs[order]).pow(-beta)
            elif not full_batch:
                order = torch.randperm(S, generator=self.shuffle_rng).to(self.device)
            for mb in range(num_mb):
                sl = slice(mb * segments_per_mb, (mb + 1) * segments_per_mb)
                # One minibatch holding the whole batch needs no gather: its mean loss ignores order.
                idx = None if full_batch else order[sl]
                take = (lambda x: x) if full_batch else (lambda x: x[idx])  # noqa: E731
                mb_obs, mb_actions = take(obs), take(actions)
                mb_old_logprobs, mb_adv, mb_returns, mb_old_values = take(packed_seg).unbind(-1)
                if self.recurrent:
                    state = tuple(take(s) for s in seg_state)
                    params, new_values, _ = self.policy.forward_sequence(mb_obs, state, take(starts))
                else:
                    flat_obs = mb_obs.reshape(-1, *mb_obs.shape[2:])
                    params, new_values, _ = self.policy(flat_obs, None)
                    params = params.view(*mb_actions.shape[:2], -1)
                    new_values = new_values.view(mb_actions.shape[:2])
                mb_live = None
                if live is not None:
                    mb_live = take(live)
                    mb_live = mb_live * (mb_live.numel() / mb_live.sum().clamp(min=1.0))
                if cfg.ent_coef > 0:
                    new_logprobs, entropy = self.dist.logprob_entropy(params, mb_actions)
                    entropy_loss = ppo.entropy_bonus(entropy if mb_live is None else ppo.weighted(entropy, mb_live))
                else:  # no entropy term in the graph; its metric is computed once, after the update
                    new_logprobs = self.dist.logprob(params, mb_actions)
                    entropy_loss = None
                if cfg.norm_adv:
                    mb_adv = ppo.normalize_advantages(mb_adv, weights=mb_live)
                weights = None if weights_all is None else weights_all[sl].unsqueeze(1)
                # policy_loss + vf_coef * value_loss with one autograd node (see ppo.FusedPPOLoss)
                loss, pg_loss, v_loss, ratio = ppo.FusedPPOLoss.apply(
                    new_logprobs, new_values, mb_old_logprobs, mb_adv, mb_old_values, mb_returns,
                    cfg.clip_coef, cfg.vf_clip_coef, cfg.vf_coef, weights, mb_live)
                if entropy_loss is not None:
                    loss = loss - cfg.ent_coef * entropy_loss

                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                clip_grad_norm_(self.params, cfg.max_grad_norm)
                self.optimizer.step()

                # The latest ratio of each sample: V-trace weights for the next epoch's advantages and
                # the source of approx_kl / clipfrac, read once after the update.
                if full_batch:
                    ratios.copy_(ratio.detach())
                else:
                    ratios[idx] = ratio.detach()
                losses.append(torch.stack([pg_loss, v_loss]).detach())
                if entropy_loss is not None:
                    entropies.append(entropy_loss.detach())
        if not entropies:
            with torch.no_grad():
                entropy = self.dist.logprob_entropy(params.detach(), mb_actions)[1]
                entropies.append(ppo.entropy_bonus(entropy if mb_live is None else ppo.weighted(entropy, mb_live)))
        self.update_count += 1
        if norm is not None:
            norm.commit()
        with torch.no_grad():
            ratios_live = keep(self.ratios)
            self._losses = {"mean": torch.cat([torch.stack(losses).mean(0), torch.stack(entropies).mean()[None]]),
                            "approx_kl": ppo.approx_kl(ratios_live.log()),
                            "clipfrac": ppo.clipfrac(ratios_live, cfg.clip_coef),
                            "explained_variance": explained_var, "lr": lr}
        self.timers["learn"] += time.perf_counter() - t_start

    def _advantages(self) -> None:
        cfg = self.config
        compute_advantages(self.values, self.rewards, self.terminals, self.truncations, self.ratios,
                           self.next_values, self.advantages, cfg.gamma, cfg.gae_lambda, cfg.rho_clip, cfg.c_clip)

    def experience(self) -> dict[str, torch.Tensor]:
        """The experience tensors of the current batch (``[A, T, ...]``, written in place each update)."""
        names = ["obs", "actions", "logprobs", "values", "rewards", "terminals", "truncations", "starts",
                 "next_values"]
        out = {name: getattr(self, name) for name in names}
        if self.recurrent:
            out.update({f"segment_state_{i}": s for i, s in enumerate(self.segment_state)})
        return out

    # ------------------------------------------------------------------ loop
    def train_step(self) -> None:
        """One iteration: collect, learn."""
        self.collect()
        self.learn()

    def run(self) -> dict[str, float]:
        """Train until ``total_steps`` (or ``target_return``); returns the last metrics."""
        cfg = self.config
        start = time.perf_counter()
        self._session_start = start
        last_log = -math.inf
        metrics: dict[str, float] = {}
        self._message(f"run dir: {self.run_dir}" if self.run_dir else "run dir: none (runs_dir is empty)")
        try:
            while self.global_step < cfg.total_steps:
                self.train_step()
                t0 = time.perf_counter()
                solved = self.episodes.count >= self.episodes.min_episodes and \
                    self.episodes.mean("episode_return") >= cfg.target_return
                done = solved or self.global_step >= cfg.total_steps
                if cfg.checkpoint_interval and self.update_count % cfg.checkpoint_interval == 0 and not done:
                    self.save()
                if done or t0 - last_log >= cfg.log_interval:
                    metrics = self.metrics()
                    self._log(metrics)
                    last_log = t0
                self.timers["other"] += time.perf_counter() - t0
                if solved:
                    self._message(f"target_return {cfg.target_return} reached at step {self.global_step}")
                    break
            self.save()
        finally:
            self.close()
        return metrics

    def metrics(self) -> dict[str, float]:
        """Current metrics as Python floats (this syncs with the device: call once per log)."""
        elapsed = self._elapsed_before + time.perf_counter() - getattr(self, "_session_start", time.perf_counter())
        out: dict[str, float] = {"update": float(self.update_count), "elapsed_s": elapsed,
                                 "sps": self.global_step_this_session() / max(elapsed - self._elapsed_before, 1e-9)}
        for key in ("episode_return", "episode_length", "score"):
            out[f"episode/{key.replace('episode_', '')}"] = self.episodes.mean(key)
        out["episode/count"] = float(self.episodes.count)
        if self._losses:
            pg, v, ent = self._losses["mean"].tolist()
            kl, clip = float(self._losses["approx_kl"]), float(self._losses["clipfrac"])
            out.update({"losses/policy_loss": pg, "losses/value_loss": v, "losses/entropy": ent,
                        "losses/approx_kl": kl, "losses/clipfrac": clip,
                        "losses/explained_variance": float(self._losses["explained_variance"]),
                        "charts/learning_rate": self._losses["lr"]})
        out.update({f"time/{k}": v for k, v in self.timers.items()})
        return out

    def global_step_this_session(self) -> int:
        return self.global_step - getattr(self, "_resumed_step", 0)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs: weights, optimizer, counters, RNG states and config."""
        payload = {
            "policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
            "global_step": self.global_step, "update": self.update_count, "config": self.config.to_dict(),
            "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),
            "shuffle_rng": self.shuffle_rng.get_state(),
            "elapsed_s": self._elapsed_before + time.perf_counter() - getattr(self, "_session_start", time.perf_counter()),
        }
        if torch.cuda.is_available():
            payload["cuda_rng"] = torch.cuda.get_rng_state_all()
        return payload

    def save(self) -> Path | None:
        """Write a checkpoint of the current update to the run directory (no-op without one)."""
        if self.run_dir is None:
            return None
        return save_checkpoint(self.run_dir, self.update_count, self.state_dict(), keep=self.config.keep_checkpoints)

    def _restore(self, path: Path, payload: dict[str, Any]) -> None:
        self.policy.load_state_dict(payload["policy"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.global_step = self._resumed_step = int(payload["global_step"])
        self.update_count = int(payload["update"])
        torch.set_rng_state(payload["torch_rng"])
        np.random.set_state(payload["numpy_rng"])
        self.shuffle_rng.set_state(payload["shuffle_rng"])
        if "cuda_rng" in payload and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(payload["cuda_rng"])
        self._elapsed_before = float(payload.get("elapsed_s", 0.0))
        self.resumed_from = path

    # ------------------------------------------------------------------ output
    def _message(self, text: str) -> None:
        if self.logger is not None and hasattr(self.logger, "message"):
            self.logger.message(text)

    def _log(self, metrics: dict[str, float]) -> None:
        for logger in (self.logger, self.file_logger):
            if logger is not None:
                logger.log(metrics, self.global_step)

    def close(self) -> None:
        """Flush and close the loggers (the env is the caller's)."""
        for logger in (self.logger, self.file_logger):
            if logger is not None:
                logger.close()
        self.logger = self.file_logger = None
