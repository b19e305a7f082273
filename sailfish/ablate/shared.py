"""Ablations shared between machines through one Optuna study (``sailfish ablate --storage URL``).

The study is the whole state: its trials are the grid of variant × seed, enqueued as WAITING trials
whose params and user attrs name the variant and the seed; its user attrs hold what every worker
needs (env, metric, the variants' overrides, seeds, heartbeat). A worker (``shared_worker``, in
every process of ``sailfish ablate --storage`` and ``--join``) asks the study for its next trial,
which claims the oldest WAITING one (Optuna sets it RUNNING only if it still is WAITING, so each run
goes to one worker), trains that run as ``worker.run_one`` does under
``<runs_dir>/<study>/<variant>/seed<k>/``, and tells the final score as the trial's value, with the
wallclock and a downsampled score-vs-time curve in its user attrs. While it trains, Optuna's
heartbeat thread writes a heartbeat; a trial whose worker died goes silent, and the next worker to
look fails it and puts a WAITING copy of it back (Optuna's retry callback, ``RETRIES`` times), which
some worker then claims. A worker stops when nothing is WAITING or RUNNING. The report
(``shared_report``) reads only the database, so any machine can write it.

One run at a time per worker process: claiming several trials that share their structure and
training them as one population would need a heartbeat per claimed trial (Optuna's thread beats for
one) and could not give each run its own wallclock. ``--workers K`` runs K worker processes.
"""
from __future__ import annotations

import math
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sailfish._extras import MissingExtra, require
from sailfish.ablate.spec import RunSpec, Variant

KIND = "sailfish-ablation"
"""The study user attr ``kind`` that tells an ablation from a sweep in a shared database."""
RETRIES = 3
"""Times a run whose worker died is put back in the queue."""
CURVE_POINTS = 100
"""Points of each run's score-vs-time curve kept in its trial (user attr ``curve``)."""
NEEDS = "an ablation with --storage"
"""What needs Optuna, for the one-line error without the ``[sweep]`` extra."""


@dataclass
class SharedSettings:
    """Where a shared ablation lives and how a worker on this machine runs (picklable for 'spawn')."""

    storage: str
    study: str
    runs_dir: str = "runs"
    quiet: bool = False


@dataclass
class Ablation:
    """What the study's user attrs say: the ablation every worker runs."""

    env: str
    variants: list[Variant]
    seeds: int
    metric: str
    final_episodes: int
    heartbeat: int

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variants]

    def attrs(self) -> dict[str, Any]:
        return {"kind": KIND, "env": self.env, "variants": [[v.name, v.overrides] for v in self.variants],
                "seeds": self.seeds, "metric": self.metric, "final_episodes": self.final_episodes,
                "heartbeat": self.heartbeat}

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> Ablation:
        return cls(env=attrs["env"], variants=[Variant(n, dict(o)) for n, o in attrs["variants"]],
                   seeds=int(attrs["seeds"]), metric=attrs["metric"], final_episodes=int(attrs["final_episodes"]),
                   heartbeat=int(attrs["heartbeat"]))


def shown(url: str) -> str:
    """The storage URL with its password hidden (for messages and the report)."""
    sqlalchemy = require("sqlalchemy", NEEDS)
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<storage>"


def _optuna():
    optuna = require("optuna", NEEDS)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


def _open(settings: SharedSettings, heartbeat: int | None = None):
    """``(study, Ablation)`` of an existing shared ablation, its storage beating every ``heartbeat``
    seconds (default: the study's own, so every worker judges staleness alike).

    ``ValueError`` for a study that does not exist or is not an ablation; ``StorageError`` for a URL
    that cannot be opened."""
    from sailfish.sweep.study import open_storage

    optuna = _optuna()
    storage = open_storage(settings.storage, heartbeat or 2, retry_stale=RETRIES)
    try:
        study = optuna.load_study(study_name=settings.study, storage=storage)
    except KeyError:
        raise ValueError(f"--study {settings.study}: no such study in {shown(settings.storage)}; start it with "
                         f"`sailfish ablate <env> --seeds N --set key=v1,v2 --storage URL --study "
                         f"{settings.study}`") from None
    if study.user_attrs.get("kind") != KIND:
        raise ValueError(f"--study {settings.study}: that study in {shown(settings.storage)} is not an ablation "
                         "(a sweep?); choose another --study name")
    ablation = Ablation.from_attrs(study.user_attrs)
    if heartbeat is None and ablation.heartbeat != 2:
        return _open(settings, ablation.heartbeat)
    return study, ablation


def create(settings: SharedSettings, ablation: Ablation):
    """Create the study (or load it: the same ablation, as a re-run of the command that made it) and
    enqueue every variant × seed that has no COMPLETE, WAITING or RUNNING trial, so a re-run
    retries runs that failed. Returns the number enqueued.

    ``ValueError`` when the study exists and records another ablation (env, variants, seeds, metric)."""
    from sailfish.sweep.study import open_storage

    optuna = _optuna()
    storage = open_storage(settings.storage, ablation.heartbeat, retry_stale=RETRIES)
    study = optuna.create_study(study_name=settings.study, storage=storage, direction="maximize",
                                load_if_exists=True)
    mine = ablation.attrs()
    if not study.user_attrs:
        for key, value in mine.items():
            study.set_user_attr(key, value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([f"episode_{ablation.metric}"])
    if study.user_attrs.get("kind") != KIND:
        raise ValueError(f"--study {settings.study}: that study in {shown(settings.storage)} is not an ablation "
                         "(a sweep?); choose another --study name")
    theirs = {k: study.user_attrs.get(k) for k in ("env", "variants", "seeds", "metric", "final_episodes")}
    for key, value in theirs.items():
        if value != mine[key]:
            differ = "other variants or settings" if key == "variants" else f"{key} {value}, not {mine[key]}"
            raise ValueError(f"--study {settings.study}: that study in {shown(settings.storage)} records another "
                             f"ablation ({differ}); choose another --study name, or join it with --join")
    live = {_cell(t) for t in _runs(study) if t.state.name in ("COMPLETE", "WAITING", "RUNNING")}
    queued = 0
    for v in ablation.variants:
        for seed in range(ablation.seeds):
            if (v.name, seed) not in live:
                study.enqueue_trial({"variant": v.name, "seed": seed}, user_attrs={"variant": v.name, "seed": seed})
                queued += 1
    return queued


def _runs(study) -> list:
    """The study's trials that are runs (a trial without a variant is a surplus ask, see ``_objective``)."""
    return [t for t in study.get_trials(deepcopy=False) if "variant" in t.user_attrs]


def _cell(trial) -> tuple[str, int]:
    return trial.user_attrs["variant"], int(trial.user_attrs["seed"])


def ablation_of(settings: SharedSettings) -> Ablation:
    """The ablation the study records (``ValueError`` if there is no such study, or it is no ablation)."""
    return _open(settings)[1]


def progress(settings: SharedSettings) -> dict[str, int]:
    """Runs of the study by state (``WAITING``, ``RUNNING``, ``COMPLETE``, ``FAIL``), retries counted."""
    study, _ = _open(settings)
    by_state: dict[str, int] = {}
    for t in _runs(study):
        by_state[t.state.name] = by_state.get(t.state.name, 0) + 1
    return by_state


def shared_worker(settings: SharedSettings) -> int:
    """Claim and train the study's runs one at a time until none is WAITING or RUNNING (a RUNNING one
    may belong to a worker that dies, whose run this worker then retries). Returns the runs it trained."""
    optuna = _optuna()
    study, ablation = _open(settings)
    trained: list[int] = []
    waiting_said = False
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # a dead worker's run goes back in the queue
        states = [t.state.name for t in _runs(study)]
        if "WAITING" in states:
            try:
                study.optimize(lambda trial: _objective(trial, ablation, settings, trained), n_trials=1,
                               catch=(Exception,))
            except (ValueError, RuntimeError):  # the objective's own errors are caught: this is the tell
                if not trained or _state(study, trained[-1]) not in ("COMPLETE", "FAIL"):
                    raise
                # A worker whose heartbeats came late (an overloaded machine) had its trial failed as
                # stale and retried elsewhere while it still trained: the retry's result counts.
                _say(settings, f"trial {trained[-1]} was failed as stale by another worker while it trained "
                               "here (heartbeats late); its retry counts instead")
            waiting_said = False
        elif "RUNNING" in states:
            if not waiting_said:
                _say(settings, f"waiting for {states.count('RUNNING')} runs on other workers (retried here if "
                               f"their worker stops beating for {3 * ablation.heartbeat} s)")
                waiting_said = True
            time.sleep(ablation.heartbeat)
        else:
            return len(trained)


def _state(study, number: int) -> str:
    return next(t.state.name for t in study.get_trials(deepcopy=False) if t.number == number)


def _objective(trial, ablation: Ablation, settings: SharedSettings, trained: list[int]) -> float:
    optuna = _optuna()

    from sailfish.ablate.worker import train_run

    if "variant" not in trial.user_attrs:
        # Another worker claimed the last WAITING trial between our look and our ask, so Optuna made
        # a fresh trial; it is no run of the grid.
        trial.set_user_attr("surplus", True)
        raise optuna.TrialPruned("surplus: every run was claimed")
    variant = trial.suggest_categorical("variant", ablation.names)
    seed = trial.suggest_int("seed", 0, ablation.seeds - 1)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    trained.append(trial.number)
    overrides = dict(next(v.overrides for v in ablation.variants if v.name == variant))
    seed_dir = Path(settings.runs_dir) / settings.study / variant / f"seed{seed}"
    spec = RunSpec(env=ablation.env, variant=variant, seed=seed, overrides=overrides, seed_dir=str(seed_dir),
                   metric=ablation.metric, final_episodes=ablation.final_episodes)
    started = time.perf_counter()
    try:
        payload, result = train_run(spec, mode=f"trial {trial.number} of a shared study")
    except Exception as e:
        error = " ".join(f"{type(e).__name__}: {e}".split())[:1000]
        trial.set_user_attr("error", error)
        _say(settings, f"{variant}/seed{seed} (trial {trial.number}) failed: {error}")
        raise
    for key in ("train_seconds", "run_seconds", "global_step"):
        trial.set_user_attr(key, payload[key])
    trial.set_user_attr("run_dir", str(seed_dir / payload["run_dir"]) if payload["run_dir"] else None)
    trial.set_user_attr("curve", _downsample([(t, s) for t, _, s in result.curve]))
    _say(settings, f"{variant}/seed{seed} (trial {trial.number}) complete: {ablation.metric} "
                   f"{payload['final_score']:.4g} in {payload['train_seconds']:.2f} s "
                   f"[{time.perf_counter() - started:.1f} s]")
    return payload["final_score"]


def _downsample(curve: list[tuple[float, float]], points: int = CURVE_POINTS) -> list[list[float | None]]:
    """At most ``points`` of ``(elapsed_s, score)``, evenly spaced by index, first and last kept;
    a score that is not finite (no episode yet) is stored as None (JSON has no NaN)."""
    if len(curve) > points:
        idx = sorted({round(i * (len(curve) - 1) / (points - 1)) for i in range(points)})
        curve = [curve[i] for i in idx]
    return [[float(t), float(s) if math.isfinite(s) else None] for t, s in curve]


def _say(settings: SharedSettings, text: str) -> None:
    if not settings.quiet:
        print(f"[{settings.study} pid {os.getpid()}] {text}", flush=True)


def run_workers(settings: SharedSettings, workers: int) -> int:
    """``workers`` worker processes on this machine (this process is one of them); returns the runs
    this process trained. Others spawned here are waited for."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=shared_worker, args=(settings,)) for _ in range(workers - 1)]
    for child in children:
        child.start()
    try:
        return shared_worker(settings)
    finally:
        for child in children:
            child.join()


def results(settings: SharedSettings) -> tuple[Ablation, list[dict[str, Any]], dict[str, str]]:
    """``(ablation, results, failures)`` read from the database alone: one result per variant × seed
    (its first COMPLETE trial: ``variant``, ``seed``, ``final_score``, ``train_seconds``, ``curve``, ...),
    and, for each run with no COMPLETE trial and none WAITING or RUNNING, why it failed."""
    study, ablation = _open(settings)
    done: dict[tuple[str, int], dict[str, Any]] = {}
    tried: dict[tuple[str, int], list] = {}
    for t in sorted(_runs(study), key=lambda t: t.number):
        cell = _cell(t)
        tried.setdefault(cell, []).append(t)
        if t.state.name == "COMPLETE" and cell not in done:
            a = t.user_attrs
            done[cell] = {"variant": cell[0], "seed": cell[1], "final_score": float(t.value),
                          "train_seconds": a.get("train_seconds"), "run_seconds": a.get("run_seconds"),
                          "global_step": a.get("global_step"), "curve": a.get("curve") or [],
                          "worker": a.get("worker"), "trial": t.number}
    failures = {}
    for cell, trials in tried.items():
        if cell in done or any(t.state.name in ("WAITING", "RUNNING") for t in trials):
            continue
        last = trials[-1]
        failures[f"{cell[0]}/seed{cell[1]}"] = last.user_attrs.get("error") or (
            f"its worker stopped sending heartbeats (killed or crashed), {len(trials)} times")
    # in the order a local ablation reads its result.json files (sorted paths): the bootstrap CIs
    # depend on the order of the scores, so the same scores give the same report either way
    return ablation, sorted(done.values(), key=lambda r: (r["variant"], f"seed{r['seed']}")), failures


def shared_report(settings: SharedSettings, console=None):
    """Write ``report.csv``, ``report.md`` and ``score_vs_wallclock.png`` under
    ``<runs_dir>/<study>/`` from the database alone. Returns ``(ablation, rows, failures, study_dir)``."""
    from rich.console import Console

    from sailfish.ablate import report
    from sailfish.ablate.spec import baseline_of

    console = console or Console()
    ablation, found, failures = results(settings)
    names = ablation.names
    rows = report.summarize(found, names, baseline_of(ablation.variants),
                            {v.name: v.overrides for v in ablation.variants})
    study_dir = Path(settings.runs_dir) / settings.study
    study_dir.mkdir(parents=True, exist_ok=True)
    workers = len({r["worker"] for r in found})
    mode = (f"one run per trial of the Optuna study `{settings.study}` in {shown(settings.storage)}, "
            f"trained by {workers} worker process{'es' if workers != 1 else ''}")
    report.write_report(study_dir, rows, ablation.env, ablation.metric, ablation.seeds, failures, mode=mode)
    try:
        report.plot_score_vs_wallclock(study_dir, found, names, ablation.metric)
    except MissingExtra as e:  # report.md and report.csv hold every number; the plot is extra
        console.print(f"no score_vs_wallclock.png: {e}", markup=False)
    return ablation, rows, failures, study_dir
