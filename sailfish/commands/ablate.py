"""``sailfish ablate <env> --seeds 5 --set lr=1e-3,3e-3 [--variant name:key=v,...]``: variants × seeds.

Every variant × seed is an ordinary training run in a pool of worker processes, under
``<runs-dir>/<study>/<variant>/seed<k>/``. The report gives, per variant, the IQM of the final score
(mean episode return, or ``--metric score``, over the run's final episode window) with a 95% stratified
bootstrap CI, the probability of improvement over the baseline (the variant named ``baseline``, else
the first) with its CI, and the median wallclock. Running the same command again resumes: runs with a
``result.json`` are not repeated. Bad input exits with status 2 and one line on stderr.

With ``--storage URL`` the runs are the trials of one Optuna study in that database (the sweeps'
storage): the command records them, and its workers and those of ``sailfish ablate --join --storage
URL --study NAME`` on other machines claim them one at a time, a dead worker's run going to another
(``sailfish.ablate.shared``); the report is written from the database alone. Needs the ``[sweep]``
extra.
"""
from __future__ import annotations

import argparse
import os

from sailfish.commands._common import fail

COMMAND = "ablate"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``ablate`` on an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(COMMAND, help="run variants x seeds and compare them with honest statistics",
                              description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("env", nargs="?", default=None,
                   help="environment name (see `sailfish envs`); with --join, taken from the study")
    p.add_argument("--seeds", type=int, default=5, help="runs per variant, seeds 0..N-1 (default 5)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                   help="a config key and its values; several --set make a grid of variants")
    p.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=V,KEY=V",
                   help="a named variant (`baseline` with no overrides = the defaults)")
    p.add_argument("--total-steps", default=None, metavar="INT", help="training length of every run")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes, each training one run at a time (default: the core count; "
                        "0 with --storage: record the runs, train none here)")
    p.add_argument("--study", default=None, help="study name (default: ablate-<env>-<hash of the variants>)")
    p.add_argument("--runs-dir", default="runs", help="parent of the study directory (default runs)")
    p.add_argument("--metric", choices=("return", "score"), default="return",
                   help="episode return (default) or the env's own score")
    p.add_argument("--final-episodes", type=int, default=0,
                   help="episodes averaged into a run's final score (default: the trainer's window, >= num_envs)")
    p.add_argument("--log-seconds", type=float, default=0.2,
                   help="seconds between a run's metric rows (the plot's resolution; default 0.2)")
    p.add_argument("--population", choices=("on", "off"), default=None,
                   help="on (default): runs sharing their structure train together as one population per "
                        "worker; off: one process per run (with --storage, always one run at a time)")
    p.add_argument("--isolate", action="store_true",
                   help="a fresh worker process per run (forked from a server that imported torch once)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="SQLAlchemy URL of a database (e.g. postgresql+psycopg2://host/db) that holds the "
                        "runs as trials of an Optuna study, shared by workers on many machines")
    p.add_argument("--join", action="store_true",
                   help="with --storage and --study: train runs of an ablation started elsewhere")
    p.add_argument("--report", action="store_true",
                   help="with --storage and --study: write the report from the database, train nothing")
    p.add_argument("--heartbeat", type=int, default=None, metavar="S",
                   help="with --storage, when the study is made: seconds between a run's heartbeats; a run "
                        "silent for 3x this goes to another worker (default 2)")
    p.set_defaults(run=run)
    return p  # a StrictParser (sailfish.cli): bad input is one line, exit status 2


def parse(args: argparse.Namespace):
    """``(variants, common overrides)`` from the options; ``ValueError`` naming the option on bad input."""
    from sailfish.ablate.spec import build_variants, parse_set, parse_variant
    from sailfish.train import Config

    for key, values in parse_set(args.set):
        for value in values:
            try:
                Config.load(args.env, {key: value})
            except ValueError as e:
                raise ValueError(f"--set {key}={value}: {e}") from None
    for text in args.variant:
        variant = parse_variant(text)
        try:
            Config.load(args.env, variant.overrides)
        except ValueError as e:
            raise ValueError(f"--variant {variant.name}: {e}") from None
    variants = build_variants(args.set, args.variant)
    common: dict = {"log_seconds": args.log_seconds}
    if args.total_steps is not None:
        common["total_steps"] = args.total_steps
    try:
        Config.load(args.env, common)
    except ValueError as e:
        raise ValueError(f"--{str(e).split(':')[0].replace('_', '-')}: {e}") from None
    return variants, common


def run(args: argparse.Namespace) -> int:
    """Execute ``sailfish ablate``; returns 0 (1 if some runs failed), or exits 2 on bad input."""
    from rich.console import Console

    from sailfish.ablate import report, run_ablation, validate
    from sailfish.ablate.spec import baseline_of, default_study

    if args.storage is not None or args.join or args.report:
        return run_shared(args)
    if args.heartbeat is not None:
        fail(COMMAND, "--heartbeat: only with --storage (a local ablation has no heartbeats)")
    _check_env_and_seeds(args, "env: required (an environment name, see `sailfish envs`)")
    if args.workers < 1:
        fail(COMMAND, f"--workers: must be >= 1, got {args.workers}")
    try:
        variants, common = parse(args)
        validate(args.env, variants, common)
    except ValueError as e:
        fail(COMMAND, str(e))
    study = args.study or default_study(args.env, variants, common)
    console = Console()
    console.print(f"study [bold]{study}[/bold]: {len(variants)} variants x {args.seeds} seeds, "
                  f"{args.workers} workers, baseline {baseline_of(variants)!r}, "
                  f"{'populations' if args.population != 'off' else 'one process per run'}")
    try:
        outcome = run_ablation(args.env, variants, args.seeds, study, runs_dir=args.runs_dir, common=common,
                               workers=args.workers, metric=args.metric, final_episodes=args.final_episodes,
                               isolate=args.isolate, console=console, population=args.population != "off")
    except ValueError as e:
        fail(COMMAND, str(e))
    report.print_table(console, outcome.rows, f"{study} ({args.env}, final episode {args.metric})")
    console.print(f"ran {len(outcome.ran)} runs in {outcome.wall_seconds:.1f} s, {outcome.skipped} already done; "
                  f"report: {outcome.study_dir / 'report.md'}")
    for label, error in outcome.failures.items():
        console.print(f"[red]failed[/red] {label}: {error}")
    return 1 if outcome.failures else 0


JOIN_DEFAULTS = {"seeds": 5, "set": [], "variant": [], "total_steps": None, "metric": "return", "final_episodes": 0,
                 "log_seconds": 0.2, "heartbeat": None}
"""Options the study fixes: ``--join`` and ``--report`` refuse them (the values are add_parser's defaults)."""


def run_shared(args: argparse.Namespace) -> int:
    """``sailfish ablate`` with ``--storage``: record the study (unless ``--join`` / ``--report``), train
    runs in ``--workers`` processes, write the report from the database. Returns 0 (1 if runs failed)."""
    from rich.console import Console

    from sailfish._extras import require
    from sailfish.ablate import report, shared, validate
    from sailfish.ablate.spec import Variant, baseline_of, default_study

    for module in ("optuna", "sqlalchemy"):  # before any work; sailfish.cli words the MissingExtra
        require(module, shared.NEEDS)
    option = "--join" if args.join else "--report" if args.report else "--storage"
    if args.join and args.report:
        fail(COMMAND, "--join, --report: choose one (--join trains runs, --report only writes the report)")
    if args.storage is None:
        fail(COMMAND, f"{option}: needs --storage URL (the database that holds the study)")
    if args.population == "on":
        fail(COMMAND, "--population on: with --storage each worker claims and trains one run at a time; "
                      "drop --population")
    if args.workers < 0 or (args.workers == 0 and option != "--storage"):
        fail(COMMAND, f"--workers: must be >= 1{' (0 only when recording a study)' if args.workers == 0 else ''}, "
                      f"got {args.workers}")
    if args.heartbeat is not None and args.heartbeat < 1:
        fail(COMMAND, f"--heartbeat: must be a whole number of seconds >= 1, got {args.heartbeat}")
    console = Console()
    try:
        if option == "--storage":
            _check_env_and_seeds(args, "env: required to start an ablation (or give --join to join one)")
            variants, common = parse(args)
            validate(args.env, variants, common)
            study = args.study or default_study(args.env, variants, common)
            settings = shared.SharedSettings(storage=args.storage, study=study, runs_dir=args.runs_dir)
            ablation = shared.Ablation(env=args.env, variants=[Variant(v.name, {**common, **v.overrides})
                                                               for v in variants],
                                       seeds=args.seeds, metric=args.metric, final_episodes=args.final_episodes,
                                       heartbeat=args.heartbeat or 2)
            queued = shared.create(settings, ablation)
            console.print(f"study [bold]{study}[/bold] in {shared.shown(args.storage)}: {len(variants)} variants x "
                          f"{args.seeds} seeds, baseline {baseline_of(variants)!r}, {queued} runs queued; "
                          f"other machines join with: sailfish ablate --join --storage URL --study {study}")
        else:
            if args.study is None:
                fail(COMMAND, f"{option}: needs --study NAME (the ablation in the database)")
            given = [k for k, default in JOIN_DEFAULTS.items() if getattr(args, k) != default]
            if given:
                fail(COMMAND, f"{option}: the study fixes --{given[0].replace('_', '-')}; drop it")
            settings = shared.SharedSettings(storage=args.storage, study=args.study, runs_dir=args.runs_dir)
            by_state = shared.progress(settings)
            env = shared.ablation_of(settings).env
            if args.env is not None and args.env != env:
                fail(COMMAND, f"env: study {args.study} ablates {env!r}, not {args.env!r}; omit env with {option}")
            console.print(f"study [bold]{args.study}[/bold] ({env}) in {shared.shown(args.storage)}: "
                          + ", ".join(f"{n} {k.lower()}" for k, n in sorted(by_state.items())))
        ran = 0
        if not args.report and args.workers > 0:
            ran = shared.run_workers(settings, args.workers)
        ablation, rows, failures, study_dir = shared.shared_report(settings, console)
    except ValueError as e:
        fail(COMMAND, str(e))
    report.print_table(console, rows, f"{settings.study} ({ablation.env}, final episode {ablation.metric})")
    console.print(f"this process trained {ran} runs; report: {study_dir / 'report.md'}")
    for label, error in failures.items():
        console.print(f"[red]failed[/red] {label}: {error}")
    return 1 if failures else 0


def _check_env_and_seeds(args, missing_env: str) -> None:
    """The env is a native one and --seeds is positive, else a one-line exit 2."""
    import sailfish

    names = sailfish.envs.names()
    if args.env is None:
        fail(COMMAND, missing_env)
    if args.env not in names:
        fail(COMMAND, f"env: unknown environment {args.env!r} (available: {', '.join(sorted(names))})")
    if args.seeds < 1:
        fail(COMMAND, f"--seeds: must be >= 1, got {args.seeds}")
