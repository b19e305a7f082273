"""``sailfish sweep <env> --trials N [--storage URL] [--study NAME] [--workers W]``: cost-aware search.

Optuna with two objectives, maximise the final score and minimise training wallclock (``total_steps``
is searchable), so the answer is a Pareto front of score vs seconds. The search space is the
``[sweep.<key>]`` tables of the env's config (see ``sailfish.sweep.space``). The study lives in a
database (SQLite file ``runs/sweeps/<study>.db`` by default, any SQLAlchemy URL), so running the same
command again resumes and finishes the trial count; ``--report`` prints the front and the best trials
and writes a PNG. ``--population K`` asks for K trials at a time and trains those that share their
structure as one population (``sailfish.sweep.population``). Needs the ``[sweep]`` extra (the PNG,
``[plot]``). Bad input exits with status 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
import sys

from sailfish.commands._common import fail

COMMAND = "sweep"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``sweep`` on an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(COMMAND, help="cost-aware hyperparameter search (score up, wallclock down)",
                              description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("env", help="environment name (see `sailfish envs`)")
    p.add_argument("--trials", type=int, default=None,
                   help="finished trials (complete, failed or pruned) the study should hold")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="SQLAlchemy URL of the study database (default sqlite:///<runs-dir>/sweeps/<study>.db)")
    p.add_argument("--study", default=None, help="study name (default sweep-<env>); the same name resumes")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes on this machine (default 1: wallclock is an objective, and "
                        "workers sharing cores slow each other)")
    p.add_argument("--population", type=int, default=1, metavar="K",
                   help="ask the study for K trials at a time and train those whose configs share their "
                        "structure as one population (members may differ only in per-member keys: lr, gamma, "
                        "clip_coef, ... see sailfish.train.config.PER_MEMBER); trials that differ in a searched "
                        "structural key (total_steps, num_envs, hidden_size, ...) train apart, one group after "
                        "another; each trial is told its own member's score and its population's wallclock; "
                        "population members are not pruned (default 1: one trial at a time)")
    p.add_argument("--budget-seconds", type=float, default=None, metavar="S",
                   help="start no new trial after S seconds (running ones finish); run again to continue")
    p.add_argument("--space", default=None, metavar="TOML", help="file of [sweep.<key>] tables to search instead")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed config value for every trial (removes the key from the search)")
    p.add_argument("--runs-dir", default="runs", help="where trials' runs go: <runs-dir>/sweeps/<study>/")
    p.add_argument("--metric", choices=("return", "score"), default="return",
                   help="episode return (default) or the env's own score")
    p.add_argument("--heartbeat", type=int, default=2, metavar="S",
                   help="seconds between a trial's heartbeats; a trial silent for 3x this is failed (default 2)")
    p.add_argument("--no-prune", action="store_true", help="never stop a trial early")
    p.add_argument("--report", action="store_true", help="print the Pareto front and best trials, write a PNG")
    p.set_defaults(run=run)
    return p  # a StrictParser (sailfish.cli): bad input is one line, exit status 2


def settings_from(args: argparse.Namespace):
    """``SweepSettings`` from the options; ``ValueError`` naming the option on bad input."""
    from sailfish.sweep.space import load_space
    from sailfish.sweep.study import SweepSettings, default_storage
    from sailfish.train import Config
    from sailfish.train.config import parse_assignments

    if not args.report and args.trials is None:
        raise ValueError("--trials: required (how many trials the study should hold), or give --report")
    if args.trials is not None and args.trials < 1:
        raise ValueError(f"--trials: must be >= 1, got {args.trials}")
    if args.workers < 1:
        raise ValueError(f"--workers: must be >= 1, got {args.workers}")
    if args.population < 1:
        raise ValueError(f"--population: must be >= 1 (trials asked and trained at a time), got {args.population}")
    if args.heartbeat < 1:
        raise ValueError(f"--heartbeat: must be a whole number of seconds >= 1, got {args.heartbeat}")
    fixed = {}
    for item in args.set:
        if "," in item.partition("=")[2]:
            raise ValueError(f"--set {item}: one value per key in a sweep (search ranges go in [sweep.<key>])")
        pairs = parse_assignments("--set", [item])
        pairs = {k.replace("-", "_"): v for k, v in pairs.items()}
        try:
            Config.load(args.env, pairs)
        except ValueError as e:
            raise ValueError(f"--set {item}: {e}") from None
        fixed.update(pairs)
    if not args.report:
        load_space(args.env, args.space)
    study = args.study or f"sweep-{args.env}"
    storage = args.storage or default_storage(args.runs_dir, study)
    return SweepSettings(env=args.env, study=study, storage=storage, trials=args.trials or 0,
                         space_file=args.space, fixed=fixed, runs_dir=args.runs_dir, metric=args.metric,
                         budget_seconds=args.budget_seconds, heartbeat=args.heartbeat, prune=not args.no_prune,
                         population=args.population)


def print_structural_note(settings) -> None:
    """Say which searched keys keep a population's trials apart (a space of only per-member keys has none)."""
    from sailfish.sweep.population import structural_keys
    from sailfish.sweep.space import load_space

    space = {k: v for k, v in load_space(settings.env, settings.space_file).items() if k not in settings.fixed}
    apart = structural_keys(space)
    if apart:
        print(f"--population {settings.population}: the search varies {', '.join(apart)}, which a population's "
              "members share: each round's first trial samples them and the others take its values (the next "
              "round samples them afresh); trials you enqueued train as they are, apart where they differ")


def run(args: argparse.Namespace) -> int:
    """Execute ``sailfish sweep``; returns 0, or exits with status 2 and a one-line error."""
    import sailfish
    from sailfish._extras import require
    from sailfish.sweep import study as sweep

    for module in ("optuna", "sqlalchemy"):  # before any work; sailfish.cli words the MissingExtra
        require(module, sweep.SWEEP)
    names = sailfish.envs.names()
    if args.env not in names:
        fail(COMMAND, f"env: unknown environment {args.env!r} (available: {', '.join(sorted(names))})")
    try:
        settings = settings_from(args)
        if args.report:
            path = sweep.report(settings)
            if path is not None:
                print(f"plot: {path}")
            return 0
        at_a_time = f", {settings.population} trials at a time per worker" if settings.population > 1 else ""
        print(f"study {settings.study} in {settings.storage}: {settings.trials} trials, {args.workers} workers"
              + at_a_time)
        if settings.population > 1:
            print_structural_note(settings)
        sweep.run_sweep(settings, workers=args.workers)
        sweep.report(settings)
    except ValueError as e:
        fail(COMMAND, str(e))
    except KeyboardInterrupt:
        print("interrupted: the trials this worker was training are told FAIL; the same command continues the study",
              file=sys.stderr)
        return 130
    return 0
