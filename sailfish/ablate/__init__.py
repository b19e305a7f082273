"""Ablations: every variant × seed as an ordinary training run in a pool of worker processes (runs
that share their structure trained together as one population per worker), then
IQM with stratified bootstrap CIs, probability of improvement over the baseline and score-vs-wallclock
plots (``sailfish.ablate.report``). This package launches runs; it never trains in its own process.
With a storage URL the runs are instead the trials of one Optuna study that workers on many machines
claim (``sailfish.ablate.shared``; there each worker process trains the run it claimed, so that
killing it stops its heartbeat and the run goes to another worker).

Layout: ``<runs_dir>/<study>/<variant>/seed<k>/`` holds one run (``<env>-<time>/`` with its
``config.toml`` and ``metrics.csv``) and ``result.json``, written atomically when the run ends, so a
re-run of the same command skips it. The study directory holds ``study.json`` (the variants),
``report.csv``, ``report.md`` and ``score_vs_wallclock.png`` (that one with the ``[plot]`` extra).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sailfish._extras import MissingExtra, available
from sailfish.ablate.spec import RunSpec, Variant, baseline_of, check_study_file


@dataclass
class Outcome:
    """What one invocation did: every result on disk, which it ran itself, failures, its wallclock."""

    study_dir: Path
    results: list[dict[str, Any]]
    ran: list[dict[str, Any]]
    skipped: int
    failures: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0
    workers: int = 1
    rows: list[dict[str, Any]] = field(default_factory=list)


def validate(env: str, variants: list[Variant], common: dict[str, Any]) -> None:
    """Build every variant's config once, so a bad key or value fails before any run starts.

    Raises ``ValueError("<variant>: <key>: <problem>")``.
    """
    from sailfish.train import Config

    for v in variants:
        try:
            Config.load(env, {**common, **v.overrides})
        except ValueError as e:
            raise ValueError(f"variant {v.name!r}: {e}") from None


def run_ablation(env: str, variants: list[Variant], seeds: int, study: str, runs_dir: str = "runs",
                 common: dict[str, Any] | None = None, workers: int = 2, metric: str = "return",
                 final_episodes: int = 0, isolate: bool = False, console=None, progress: bool = True,
                 population: bool = True) -> Outcome:
    """Run the missing runs of ``variants × seeds`` and write the report.

    Args:
        env: environment name.
        variants: the variants; the one named ``baseline`` (else the first) is the baseline.
        seeds: seeds per variant (seed values 0 .. seeds-1).
        study: name of the study directory under ``runs_dir``.
        common: overrides applied to every variant before its own (e.g. ``total_steps``).
        workers: worker processes (each trains one run at a time).
        metric: "return" or "score" (``sailfish.sweep.runner.METRICS``).
        final_episodes: episodes in the final-score window (0 = the trainer's, at least num_envs).
        isolate: a fresh process per run instead of reusing workers (forked from the preloaded server,
            so it costs a fork, not a torch import).
        console: a ``rich.console.Console`` for the progress bar and table (None = a new one).
        population: train runs that share their structure (all keys but the per-member scalars of
            ``sailfish.train.config.PER_MEMBER``) as populations, one per worker (``Trainer`` with a
            list of configs); False: one process per run.
    """
    from rich.console import Console

    from sailfish.ablate import report

    console = console or Console()
    common = dict(common or {})
    # Workers share the cores: torch_threads' "auto" would give each of them all of them; -n is
    # auto's rule over n cores (a small policy keeps one thread).
    common.setdefault("torch_threads", -max(1, (os.cpu_count() or 1) // max(1, workers)))
    study_dir = Path(runs_dir) / study
    specs = [RunSpec(env=env, variant=v.name, seed=s, overrides={**common, **v.overrides},
                     seed_dir=str(study_dir / v.name / f"seed{s}"), metric=metric, final_episodes=final_episodes)
             for v in variants for s in range(seeds)]
    todo = [s for s in specs if not s.result_path.exists()]
    validate(env, variants, common)
    context = _worker_context(start_now=bool(todo))  # its torch import overlaps what follows
    if todo:
        # The plotting stack for the report (~0.9 s here), imported on the core the server's torch
        # import leaves idle, not after the last run.
        threading.Thread(target=_import_plotting, daemon=True).start()
    check_study_file(study_dir, env, variants, common)
    ran: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    start = time.perf_counter()
    if todo:
        jobs = population_jobs(todo, workers) if population else [[spec] for spec in todo]
        ran, failures = _execute(jobs, workers, isolate, context, console, progress, population)
    wall = time.perf_counter() - start
    names = [v.name for v in variants]
    results = [r for r in report.load_results(study_dir) if r["variant"] in names and r["seed"] < seeds]
    base = baseline_of(variants)
    rows = report.summarize(results, names, base, {v.name: {**common, **v.overrides} for v in variants})
    mode = "populations (runs sharing their structure trained together, one population per worker)" \
        if population else "one process per run"
    report.write_report(study_dir, rows, env, metric, seeds, failures, mode=mode)
    try:
        report.plot_score_vs_wallclock(study_dir, results, names, metric)
    except MissingExtra as e:  # report.md and report.csv hold every number; the plot is extra
        console.print(f"no score_vs_wallclock.png: {e}", markup=False)  # [plot] is not rich markup
    return Outcome(study_dir=study_dir, results=results, ran=ran, skipped=len(specs) - len(todo),
                   failures=failures, wall_seconds=wall, workers=workers, rows=rows)


def _worker_context(start_now: bool = False):
    """Workers fork from a server that has imported torch and the trainer once (~1.2 s, the one
    fixed cost left per ablation), not each import them after a spawn; fork straight from this
    process would copy whatever threads and state it holds. ``start_now`` launches the server
    (it imports in the background). Spawn where forkserver is missing."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sailfish.ablate.worker", "sailfish.sweep.runner", "sailfish.train.trainer"])
    if start_now:
        forkserver.ensure_running()
    return context


def _import_plotting() -> None:
    if not available("matplotlib"):  # no [plot] extra: the report says so, not this thread
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401


def population_jobs(todo: list[RunSpec], workers: int) -> list[list[RunSpec]]:
    """Runs grouped into populations: runs whose configs share their structure go together; while
    there are fewer populations than workers, the largest is split so every core trains one."""
    from sailfish.train.config import Config, structure_key

    groups: dict[tuple, list[RunSpec]] = {}
    for spec in todo:
        groups.setdefault(structure_key(Config.load(spec.env, spec.overrides)), []).append(spec)
    jobs = list(groups.values())
    while len(jobs) < workers and max(len(j) for j in jobs) > 1:
        jobs.sort(key=len)
        big = jobs.pop()
        jobs += [big[:len(big) // 2], big[len(big) // 2:]]
    return jobs


def _execute(jobs: list[list[RunSpec]], workers: int, isolate: bool, context, console, progress: bool,
             population: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sailfish.ablate.worker import run_one, run_population

    ran, failures = [], {}
    columns = (TextColumn("[bold]runs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=console, disable=not progress) as bar:
        total = sum(len(job) for job in jobs)
        task = bar.add_task("", total=total)
        kwargs = dict(max_tasks_per_child=1) if isolate else {}
        pool_size = max(1, min(workers, len(jobs)))
        with cf.ProcessPoolExecutor(max_workers=pool_size, mp_context=context, **kwargs) as pool:
            futures = {(pool.submit(run_population, job) if population else pool.submit(run_one, job[0])): job
                       for job in jobs}
            for fut in cf.as_completed(futures):
                job = futures[fut]
                labels = [f"{spec.variant}/seed{spec.seed}" for spec in job]
                try:
                    result = fut.result()
                    ran += result if population else [result]
                except cf.process.BrokenProcessPool:  # a worker died (crash, kill): the pool is gone
                    for label in labels:
                        failures[label] = "its worker process died (crash or kill); it runs again next time"
                except Exception as e:  # one failed run (or population) never stops the ablation
                    for spec, label in zip(job, labels):
                        failures[label] = f"{type(e).__name__}: {e}"
                        Path(spec.seed_dir).mkdir(parents=True, exist_ok=True)
                        (Path(spec.seed_dir) / "error.txt").write_text(failures[label] + "\n")
                bar.update(task, advance=len(job), description=labels[-1])
    return ran, failures
