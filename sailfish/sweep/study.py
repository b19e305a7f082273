"""Running and reporting a cost-aware sweep on an Optuna study (two objectives: score up, seconds down).

Every worker process runs ``sweep_worker``: it asks the shared study for a trial, trains it with
``measured_run`` and tells the result (with ``population`` K > 1: K trials at a time, trained
together where their structure agrees, ``sailfish.sweep.population``), until the study holds
``trials`` finished trials (COMPLETE, FAIL or PRUNED). State lives only in the storage, so workers
on several machines can share one study and a killed sweep resumes: a trial whose worker died stops
sending heartbeats and is marked FAIL by the next worker (``optuna.storages.fail_stale_trials``),
which then runs the remaining trials.

Pruning: Optuna's pruners and ``Trial.report`` refuse multi-objective studies, so the rule is ours and
works on the score-vs-wallclock curve every trial stores (user attr ``curve``): a trial is pruned at
``t`` seconds when its best score so far is below the median of the best scores by ``t`` of the
completed trials that were still training at ``t`` (at least ``PRUNE_MIN_PEERS`` of them), once ``t``
is past a quarter of those trials' median duration. It compares at equal cost, the currency of the
search: a trial cut for being behind at second ``t`` could still have ended well, but it would have
had to beat the front from behind.
"""
from __future__ import annotations

import math
import os
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sailfish._extras import MissingExtra, require

PRUNE_MIN_PEERS = 4
"""Completed trials needed at a given second before the median rule may prune there."""
CURVE_POINTS = 40
"""Points of the score-vs-time curve kept per trial (user attr ``curve``)."""
FINISHED = ("COMPLETE", "FAIL", "PRUNED")
SWEEP = "the sweep"
"""What needs Optuna, for the one-line error without the ``[sweep]`` extra."""


class StorageError(ValueError):
    """The storage URL cannot be opened (bad URL, missing driver, server unreachable)."""


@dataclass
class SweepSettings:
    """Everything a worker process needs (picklable for 'spawn')."""

    env: str
    study: str
    storage: str
    trials: int
    space_file: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    runs_dir: str = "runs"
    metric: str = "return"
    budget_seconds: float | None = None
    heartbeat: int = 2
    log_seconds: float = 0.1
    prune: bool = True
    quiet: bool = False
    population: int = 1
    """Trials asked of the study at a time and trained together (``sailfish.sweep.population``)."""


def default_storage(runs_dir: str, study: str) -> str:
    """``sqlite:///<runs_dir>/sweeps/<study>.db`` (its folder is created)."""
    path = Path(runs_dir) / "sweeps" / f"{study}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_storage(url: str, heartbeat: int = 2, retry_stale: int = 0):
    """An ``optuna.storages.RDBStorage`` with heartbeats (so a dead worker's trial can be failed).

    ``retry_stale``: how many times a trial failed for its stale heartbeat is put back in the queue
    as a WAITING copy of itself (same params and attrs, Optuna's retry callback), for studies whose
    trials are a fixed list of work rather than samples (ablations); 0 = never (sweeps sample anew).
    Raises ``StorageError`` with a one-line reason and the fix for any URL that cannot be opened.
    """
    optuna = require("optuna", SWEEP)
    sqlalchemy = require("sqlalchemy", SWEEP)

    try:
        shown = sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        raise StorageError(f"--storage {url!r}: not a database URL; use e.g. sqlite:///sweeps.db or "
                           "postgresql+psycopg2://user:password@host:5432/db") from None
    if url.startswith("sqlite"):  # several workers write one file: wait for its lock instead of failing
        engine = {"connect_args": {"timeout": 60}}
    else:
        engine = {"pool_pre_ping": True}
        if url.startswith("postgresql"):
            engine["connect_args"] = {"connect_timeout": 10}
    error: Exception | None = None
    for attempt in range(3):  # workers that meet a fresh database race to create its tables: retry
        if attempt:
            time.sleep(1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                storage = optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat,
                                                     grace_period=3 * heartbeat, **_retry_callback(retry_stale))
                if url.startswith("sqlite"):
                    _serialize_sqlite(storage.engine)
                return storage
            except Exception as e:
                error = e
                if isinstance(e, (ImportError, sqlalchemy.exc.ArgumentError)):
                    break  # a missing driver or a malformed URL will not heal
    reason = " ".join(str(error).split("\n")[0].split())[:200] or type(error).__name__
    raise StorageError(f"--storage {shown}: cannot open the database ({type(error).__name__}: {reason}); "
                       "check the URL and that the server is running and reachable, or omit "
                       "--storage for the SQLite file under runs/sweeps/")


def _serialize_sqlite(engine) -> None:
    """Make every transaction on this SQLite engine take the database's write lock when it begins.

    Optuna claims a WAITING trial by reading its state and writing RUNNING in one transaction
    ``SELECT ... FOR UPDATE``, which SQLite ignores; and Python's sqlite3 only begins a transaction at
    the first write, so two processes could both read WAITING and both claim the trial (seen: two
    ablation workers trained one run and the later one's ``tell`` failed). ``BEGIN IMMEDIATE`` at the
    start of each transaction serializes them, as PostgreSQL's row lock does (SQLAlchemy's recipe for
    pysqlite). Connections opened before the listeners (Optuna's table creation) are dropped."""
    sqlalchemy = require("sqlalchemy", SWEEP)

    @sqlalchemy.event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()


def _retry_callback(retries: int) -> dict[str, Any]:
    """The keyword that gives ``RDBStorage`` Optuna's retry callback: ``heartbeat_stale_trial_callback``
    with ``RetryHeartbeatStaleTrialCallback`` since Optuna 4.9, ``failed_trial_callback`` with
    ``RetryFailedTrialCallback`` (the same class under its old name, deprecated since) before."""
    optuna = require("optuna", SWEEP)

    if retries <= 0:
        return {}
    storages = optuna.storages
    if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):
        return {"heartbeat_stale_trial_callback": storages.RetryHeartbeatStaleTrialCallback(max_retry=retries)}
    return {"failed_trial_callback": storages.RetryFailedTrialCallback(max_retry=retries)}


def open_study(settings: SweepSettings, create: bool = True):
    """The study ``settings.study`` (created if missing and ``create``), checked to be of ``settings.env``."""
    optuna = require("optuna", SWEEP)

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(settings.storage, settings.heartbeat)
    if not create:
        try:
            study = optuna.load_study(study_name=settings.study, storage=storage)
        except KeyError:
            raise ValueError(f"--study {settings.study}: no such study in {settings.storage}") from None
    else:
        sampler = optuna.samplers.TPESampler(constant_liar=True)
        study = optuna.create_study(study_name=settings.study, storage=storage, sampler=sampler,
                                    directions=["maximize", "minimize"], load_if_exists=True)
    env = study.user_attrs.get("env")
    if env is None and create:
        study.set_user_attr("env", settings.env)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([f"episode_{settings.metric}", "wallclock_s"])
        study.set_user_attr("metric", settings.metric)
    elif env is not None and env != settings.env:
        raise ValueError(f"--study {settings.study}: this study sweeps {env!r}, not {settings.env!r}; "
                         "choose another --study name")
    return study


def counts(study) -> tuple[int, int]:
    """``(finished, running)`` trials of the study, surplus trials (see ``_objective``) left out."""
    finished = running = 0
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("surplus"):
            continue
        if t.state.name in FINISHED:
            finished += 1
        elif t.state.name == "RUNNING":
            running += 1
    return finished, running


def sweep_worker(settings: SweepSettings) -> int:
    """Run trials until the study holds ``settings.trials`` finished ones (or the budget is spent).

    Returns the number of trials this worker ran.
    """
    optuna = require("optuna", SWEEP)

    from sailfish.sweep.space import load_space

    space = load_space(settings.env, settings.space_file)
    for key in settings.fixed:
        space.pop(key, None)  # a fixed value wins over the search
    study = open_study(settings)
    start = time.monotonic()
    ran = 0
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        finished, running = counts(study)
        if finished >= settings.trials:
            break
        if settings.budget_seconds is not None and time.monotonic() - start >= settings.budget_seconds:
            _say(settings, f"--budget-seconds {settings.budget_seconds:g} spent; {finished}/{settings.trials} "
                           "trials finished (run again to continue)")
            break
        if finished + running >= settings.trials:  # the rest are in flight elsewhere, or dead: wait
            time.sleep(settings.heartbeat)
            continue
        if settings.population > 1:
            from sailfish.sweep.population import population_round

            size = min(settings.population, settings.trials - finished - running)
            ran += population_round(study, settings, space, size)
        else:
            study.optimize(lambda trial: _objective(trial, settings, space), n_trials=1, catch=(Exception,))
            ran += 1
    return ran


def _objective(trial, settings: SweepSettings, space) -> tuple[float, float]:
    from sailfish.sweep.space import suggest

    claim(trial, settings)
    return train_solo(trial, settings, suggest(trial, space))


def claim(trial, settings: SweepSettings) -> None:
    """Mark ``trial`` as this worker's; raise ``TrialPruned`` (user attr ``surplus``) when the study
    already had its trial count before it (another worker asked at the same instant for the last slot)."""
    optuna = require("optuna", SWEEP)

    earlier = sum(1 for t in trial.study.get_trials(deepcopy=False)
                  if t.number < trial.number and not t.user_attrs.get("surplus"))
    if earlier >= settings.trials:
        trial.set_user_attr("surplus", True)
        raise optuna.TrialPruned("surplus: the study already had its trial count")
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")


def trial_config(trial, settings: SweepSettings, params: dict[str, Any]):
    """The ``Config`` of ``trial`` (``ValueError`` for a suggested value the config refuses): the
    fixed values, its suggestions, its run under ``<runs_dir>/sweeps/<study>/trial<number>/``."""
    from sailfish.train import Config

    run_dir = Path(settings.runs_dir) / "sweeps" / settings.study / f"trial{trial.number:04d}"
    return Config.load(settings.env, {**settings.fixed, **params, "runs_dir": str(run_dir),
                                      "log_seconds": settings.log_seconds})


def train_solo(trial, settings: SweepSettings, params: dict[str, Any]) -> tuple[float, float]:
    """Train ``trial`` alone (pruned by the median rule unless ``settings.prune`` is off) and return its
    objective ``(final score, training wallclock s)``; raises ``TrialPruned``, or the run's error."""
    optuna = require("optuna", SWEEP)

    from sailfish.sweep.runner import measured_run

    pruner = _MedianCurvePruner(trial.study) if settings.prune else None
    started = time.perf_counter()
    try:
        config = trial_config(trial, settings, params)
        result = measured_run(config, metric=settings.metric, on_log=pruner.check if pruner else None)
    except _Pruned as e:
        trial.set_user_attr("curve", _downsample(e.curve))
        trial.set_user_attr("pruned_because", str(e))
        _say(settings, f"trial {trial.number} pruned: {e}")
        raise optuna.TrialPruned(str(e)) from None
    except Exception as e:
        record_failure(trial, settings, e)
        raise
    return record_result(trial, settings, params, result, started)


def record_failure(trial, settings: SweepSettings, error: BaseException) -> None:
    """User attrs ``error`` (one line) and ``diverged`` of a failed trial, and its progress line."""
    from sailfish.sweep.runner import Diverged

    text = f"{type(error).__name__}: {error}"
    trial.set_user_attr("error", " ".join(text.split())[:1000])
    trial.set_user_attr("diverged", isinstance(error, Diverged))
    _say(settings, f"trial {trial.number} failed: {text}")


def record_result(trial, settings: SweepSettings, params: dict[str, Any], result,
                  started: float) -> tuple[float, float]:
    """User attrs of a trial's finished run (``curve``, ``global_step``, ``run_dir``, ``run_seconds``),
    its progress line; returns its objective ``(final score, training wallclock s)``."""
    trial.set_user_attr("curve", _downsample(result.curve))
    trial.set_user_attr("global_step", result.global_step)
    trial.set_user_attr("run_dir", result.run_dir)
    trial.set_user_attr("run_seconds", result.run_seconds)
    shown = ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())
    _say(settings, f"trial {trial.number} complete: {settings.metric} {result.final_score:.4g} in "
                   f"{result.train_seconds:.2f} s ({shown}) [{time.perf_counter() - started:.1f} s]")
    return result.final_score, result.train_seconds


class _Pruned(Exception):
    def __init__(self, message: str, curve):
        super().__init__(message)
        self.curve = curve


class _MedianCurvePruner:
    """The median rule of the module doc, fed ``(elapsed_s, step, score)`` at every log of a run."""

    def __init__(self, study):
        import numpy as np

        self.np = np
        self.peers = []  # (times, best score so far) of completed trials
        for t in study.get_trials(deepcopy=False, states=(_state("COMPLETE"),)):
            curve = t.user_attrs.get("curve") or []
            if len(curve) >= 2:
                times = np.array([p[0] for p in curve])
                best = np.maximum.accumulate(np.nan_to_num(np.array([p[2] for p in curve]), nan=-np.inf))
                self.peers.append((times, best))
        durations = [p[0][-1] for p in self.peers]
        self.warmup = 0.25 * float(np.median(durations)) if durations else math.inf
        self.curve: list = []
        self.best = -math.inf

    def check(self, elapsed: float, step: int, score: float) -> None:
        self.curve.append((elapsed, step, score))
        if math.isfinite(score):
            self.best = max(self.best, score)
        if elapsed < self.warmup:
            return
        at = [float(self.np.interp(elapsed, times, best)) for times, best in self.peers if times[-1] >= elapsed]
        if len(at) >= PRUNE_MIN_PEERS:
            median = float(self.np.median(at))
            if self.best < median:
                raise _Pruned(f"best score {self.best:.4g} by {elapsed:.2f} s is below the median {median:.4g} "
                              f"of {len(at)} completed trials at that time", self.curve)


def _state(name: str):
    optuna = require("optuna", SWEEP)

    return getattr(optuna.trial.TrialState, name)


def _downsample(curve, points: int = CURVE_POINTS) -> list[list[float]]:
    if len(curve) > points:
        idx = sorted({round(i * (len(curve) - 1) / (points - 1)) for i in range(points)})
        curve = [curve[i] for i in idx]
    return [[round(t, 4), int(s), (None if not math.isfinite(v) else float(v))] for t, s, v in curve]


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _say(settings: SweepSettings, text: str) -> None:
    if not settings.quiet:
        print(f"[{settings.study} pid {os.getpid()}] {text}", flush=True)


def run_sweep(settings: SweepSettings, workers: int = 1) -> None:
    """Run ``workers`` worker processes on the study (this process is one of them)."""
    # Workers share the cores: torch_threads' "auto" would give each of them all of them; -n is
    # auto's rule over n cores (a small policy keeps one thread).
    settings.fixed.setdefault("torch_threads", -max(1, (os.cpu_count() or 1) // max(1, workers)))
    import multiprocessing

    open_study(settings)  # fail early, in this process, on a bad URL or study
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=sweep_worker, args=(settings,), daemon=False) for _ in range(workers - 1)]
    for child in children:
        child.start()
    try:
        sweep_worker(settings)
    finally:
        for child in children:
            child.join()


# ---------------------------------------------------------------------------- report
def trial_table(study) -> tuple[list, list, dict[str, int]]:
    """``(complete trials, Pareto-front trials, count by state)``; the front sorted by wallclock."""
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.values is not None]
    by_state: dict[str, int] = {}
    for t in trials:
        name = "SURPLUS" if t.user_attrs.get("surplus") else t.state.name
        by_state[name] = by_state.get(name, 0) + 1
    front = sorted(study.best_trials, key=lambda t: t.values[1]) if complete else []
    return complete, front, by_state


def params_of(trial) -> dict[str, Any]:
    """The config values a trial trained with (``pow2`` keys shown as their value, not exponent)."""
    out = {}
    for k, v in trial.params.items():
        if k.startswith("log2_"):
            out[k[5:]] = trial.user_attrs.get(k[5:], 2 ** v)
        else:
            out[k] = v
    return out


def report(settings: SweepSettings, console=None, best: int = 5) -> Path | None:
    """Print the Pareto front and the best trials by score; write ``score_vs_wallclock.png`` next to
    the trials' runs (``<runs_dir>/sweeps/<study>/``). Returns the PNG's path (None: nothing complete,
    or no ``[plot]`` extra, which the report then says)."""
    from rich.console import Console
    from rich.table import Table

    from sailfish.sweep.population import population_line

    console = console or Console()
    study = open_study(settings, create=False)
    complete, front, by_state = trial_table(study)
    metric = study.user_attrs.get("metric", settings.metric)
    console.print(f"study [bold]{settings.study}[/bold] ({study.user_attrs.get('env')}): "
                  + ", ".join(f"{n} {k.lower()}" for k, n in sorted(by_state.items())))
    together = population_line(study.get_trials(deepcopy=False))
    if together:
        console.print(together)
    keys = sorted({k for t in complete for k in params_of(t)})

    def table(title, rows):
        tab = Table(title=title)
        for col in ["trial", metric, "wallclock (s)"] + keys:
            tab.add_column(col, justify="right")
        for t in rows:
            p = params_of(t)
            tab.add_row(str(t.number), f"{t.values[0]:.4g}", f"{t.values[1]:.3g}", *(_fmt(p.get(k, "")) for k in keys))
        console.print(tab)

    if not complete:
        console.print("no complete trials yet")
        return None
    table("Pareto front: no other trial scores higher in less time", front)
    table(f"best {min(best, len(complete))} trials by {metric}",
          sorted(complete, key=lambda t: (-t.values[0], t.values[1]))[:best])
    failed = [t for t in study.get_trials(deepcopy=False) if t.state.name == "FAIL"]
    for t in failed:
        console.print(f"[red]trial {t.number} failed[/red]: "
                      f"{t.user_attrs.get('error', 'its worker stopped sending heartbeats (killed or crashed); failed on resume')}")
    try:
        return plot(settings, complete, front, metric, by_state)
    except MissingExtra as e:  # the tables above are the report; the PNG is extra
        console.print(f"no score_vs_wallclock.png: {e}", markup=False)  # [plot] is not rich markup
        return None


def plot(settings: SweepSettings, complete, front, metric: str, by_state: dict[str, int]) -> Path:
    """Score vs wallclock of every complete trial, the Pareto front drawn as a step line
    (``MissingExtra`` without the ``[plot]`` extra)."""
    matplotlib = require("matplotlib", "the score-vs-wallclock plot")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.scatter([t.values[1] for t in complete], [t.values[0] for t in complete], s=18, alpha=0.5,
               color="tab:gray", label=f"complete trials ({len(complete)})")
    xs, ys = [t.values[1] for t in front], [t.values[0] for t in front]
    ax.step(xs, ys, where="post", color="tab:red")
    ax.scatter(xs, ys, s=36, color="tab:red", label=f"Pareto front ({len(front)})", zorder=3)
    for t in front:
        ax.annotate(str(t.number), (t.values[1], t.values[0]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("wallclock (s)")
    ax.set_ylabel(f"final episode {metric}")
    other = ", ".join(f"{n} {k.lower()}" for k, n in sorted(by_state.items()) if k != "COMPLETE")
    ax.set_title(f"{settings.study}" + (f" ({other})" if other else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(settings.runs_dir) / "sweeps" / settings.study / "score_vs_wallclock.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
