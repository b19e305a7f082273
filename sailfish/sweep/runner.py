"""One training run, measured: the unit of work of a sweep trial and of an ablation run.

It is an ordinary ``Trainer.run()``: the only addition is a probe passed as the trainer's ``logger``,
which sees every metrics row the trainer logs (every ``log_seconds`` seconds). The probe keeps the
score-vs-time curve, stops the run when a loss turns NaN (``Diverged``), and hands each point to an
optional callback (a sweep's pruning rule, which stops a run by raising).
"""
from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

METRICS = {"return": "episode/return", "score": "episode/score"}
"""``--metric`` name → the trainer's metrics key. "return": mean episode return; "score": the env's own
measure of success (cartpole: fraction of the 500-step limit survived)."""

_LOSSES = ("losses/policy_loss", "losses/value_loss", "losses/entropy", "losses/approx_kl")


class Diverged(RuntimeError):
    """A loss became NaN or infinite: the run cannot recover, so it stops and counts as failed."""


@dataclass
class RunResult:
    """What a measured run produced.

    ``final_score``: the mean of ``metric`` over the trainer's final episode window (the most recent
    episodes, at least ``num_envs`` of them, or ``final_episodes`` when given).
    ``train_seconds``: wallclock of ``Trainer.run()`` alone; ``run_seconds``: env and trainer
    construction included (what the run costs in a process that has already imported torch).
    ``curve``: ``(elapsed_s, step, score)`` at every log.
    """

    final_score: float
    train_seconds: float
    run_seconds: float
    global_step: int
    run_dir: str | None
    curve: list[tuple[float, int, float]] = field(default_factory=list)


class _Probe:
    """A trainer logger that records the score curve and checks the losses."""

    def __init__(self, key: str, on_log: Callable[[float, int, float], None] | None):
        self.key, self.on_log = key, on_log
        self.curve: list[tuple[float, int, float]] = []

    def log(self, metrics: dict[str, float], step: int) -> None:
        for name in _LOSSES:
            value = metrics.get(name)
            if value is not None and not math.isfinite(value):
                raise Diverged(f"{name} is {value} at step {step}")
        point = (float(metrics.get("elapsed_s", math.nan)), int(step), float(metrics.get(self.key, math.nan)))
        self.curve.append(point)
        if self.on_log is not None:
            self.on_log(*point)

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def measured_run(config, metric: str = "return", final_episodes: int = 0,
                 on_log: Callable[[float, int, float], None] | None = None) -> RunResult:
    """Train ``config`` (a ``sailfish.train.Config``) to the end and measure it.

    Args:
        config: the run; it writes ``<config.runs_dir>/<env>-<time>/`` as ``sailfish train`` does.
        metric: "return" or "score" (see ``METRICS``).
        final_episodes: episodes averaged into the final score (0 = the trainer's window, >= num_envs).
        on_log: called with ``(elapsed_s, step, score)`` at every log; may raise to stop the run.

    Raises ``Diverged`` on a NaN loss; any other error of the trainer or env propagates.
    """
    from sailfish.train import Trainer, make_env
    from sailfish.train.metrics import EpisodeWindow

    if metric not in METRICS:
        raise ValueError(f"metric: must be one of {', '.join(METRICS)}, got {metric!r}")
    key = METRICS[metric]
    t0 = time.perf_counter()
    env = make_env(config)
    try:
        probe = _Probe(key, on_log)
        trainer = Trainer(env, config=config, logger=probe)
        if final_episodes:
            trainer.episodes = EpisodeWindow(min_episodes=final_episodes)
        t1 = time.perf_counter()
        trainer.run()
        t2 = time.perf_counter()
    finally:
        env.close()
    final = trainer.episodes.mean({"return": "episode_return", "score": "score"}[metric])
    if not math.isfinite(final):
        if trainer.episodes.count == 0:
            raise RuntimeError(f"no episode finished in {trainer.global_step} steps: raise total_steps")
        raise Diverged(f"final {metric} is {final}")
    return RunResult(final_score=float(final), train_seconds=t2 - t1, run_seconds=t2 - t0,
                     global_step=int(trainer.global_step),
                     run_dir=str(trainer.run_dir) if trainer.run_dir else None, curve=probe.curve)


def measured_population(configs, metric: str = "return", final_episodes: int = 0) -> list[RunResult]:
    """Train ``configs`` (population members sharing their structure) together and measure each member
    as ``measured_run`` measures a run; ``train_seconds`` of a member that reached ``target_return``
    is the time it did. Each member writes its run under its own ``runs_dir``; ``curve`` is left empty
    (each member's ``metrics.csv`` holds it). The first member that failed (see ``measured_members``)
    raises its error."""
    outcomes = measured_members(configs, metric=metric, final_episodes=final_episodes)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
    return outcomes


def measured_members(configs, metric: str = "return", final_episodes: int = 0) -> list[RunResult | Exception]:
    """``measured_population``, but each member's outcome on its own: its ``RunResult``, or the error
    that makes it a failed run while the others stand (``Diverged``: a non-finite final score;
    ``RuntimeError``: no episode finished). An error of the population as a whole (its env, its
    trainer, an invalid shared config) propagates."""
    from sailfish.train import Trainer
    from sailfish.train.env import make_member_env
    from sailfish.train.metrics import EpisodeWindow

    if metric not in METRICS:
        raise ValueError(f"metric: must be one of {', '.join(METRICS)}, got {metric!r}")
    t0 = time.perf_counter()
    env = make_member_env(list(configs))
    try:
        trainer = Trainer(env, config=list(configs))
        if final_episodes:
            trainer.member_episodes = [EpisodeWindow(min_episodes=final_episodes) for _ in configs]
            trainer.episodes = trainer.member_episodes[0]
        t1 = time.perf_counter()
        trainer.run()
        t2 = time.perf_counter()
    finally:
        env.close()
    key = {"return": "episode_return", "score": "score"}[metric]
    outcomes: list[RunResult | Exception] = []
    for k, window in enumerate(trainer.member_episodes):
        final = window.mean(key)
        if not math.isfinite(final):
            if window.count == 0:
                outcomes.append(RuntimeError(f"member {k}: no episode finished in {trainer.global_step} steps: "
                                             "raise total_steps"))
            else:
                outcomes.append(Diverged(f"member {k}: final {metric} is {final}"))
            continue
        solved = trainer.solved_at[k]
        outcomes.append(RunResult(final_score=float(final), train_seconds=(t2 - t1) if solved is None else solved,
                                  run_seconds=t2 - t0, global_step=int(trainer.global_step),
                                  run_dir=str(trainer.run_dirs[k]) if trainer.run_dirs[k] else None, curve=[]))
    return outcomes


def curve_from_csv(run_dir: str | None, metric: str = "return") -> list[tuple[float, int, float]]:
    """``(elapsed_s, step, score)`` at every row of a run's ``metrics.csv`` (a population's members
    are logged there, not to a probe; [] for a run that wrote no directory). Raises ``Diverged`` at
    the first non-finite loss, the row at which ``measured_run``'s probe would have stopped the run."""
    if run_dir is None:
        return []
    key = METRICS[metric]
    curve = []
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            for name in _LOSSES:
                value = _number(row.get(name))
                if not math.isfinite(value) and row.get(name) not in (None, ""):
                    raise Diverged(f"{name} is {value} at step {row['step']}")
            curve.append((_number(row.get("elapsed_s")), int(row["step"]), _number(row.get(key))))
    return curve


def _number(cell: str | None) -> float:
    """A CSV cell as a float; NaN where the row has no value."""
    try:
        return float(cell)
    except (TypeError, ValueError):
        return math.nan
