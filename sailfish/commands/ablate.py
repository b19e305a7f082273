"""``sailfish ablate <env> --seeds 5 --set lr=1e-3,3e-3 [--variant name:key=v,...]``: variants × seeds.

Every variant × seed is an ordinary training run in a pool of worker processes, under
``<runs-dir>/<study>/<variant>/seed<k>/``. The report gives, per variant, the IQM of the final score
(mean episode return, or ``--metric score``, over the run's final episode window) with a 95% stratified
bootstrap CI, the probability of improvement over the baseline (the variant named ``baseline``, else
the first) with its CI, and the median wallclock. Running the same command again resumes: runs with a
``result.json`` are not repeated. Bad input exits with status 2 and one line on stderr.
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
    p.add_argument("env", help="environment name (see `sailfish envs`)")
    p.add_argument("--seeds", type=int, default=5, help="runs per variant, seeds 0..N-1 (default 5)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                   help="a config key and its values; several --set make a grid of variants")
    p.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=V,KEY=V",
                   help="a named variant (`baseline` with no overrides = the defaults)")
    p.add_argument("--total-steps", default=None, metavar="INT", help="training length of every run")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes, each training one run at a time (default: the core count)")
    p.add_argument("--study", default=None, help="study name (default: ablate-<env>-<hash of the variants>)")
    p.add_argument("--runs-dir", default="runs", help="parent of the study directory (default runs)")
    p.add_argument("--metric", choices=("return", "score"), default="return",
                   help="episode return (default) or the env's own score")
    p.add_argument("--final-episodes", type=int, default=0,
                   help="episodes averaged into a run's final score (default: the trainer's window, >= num_envs)")
    p.add_argument("--log-seconds", type=float, default=0.2,
                   help="seconds between a run's metric rows (the plot's resolution; default 0.2)")
    p.add_argument("--population", choices=("on", "off"), default="on",
                   help="on (default): runs sharing their structure train together as one population per "
                        "worker; off: one process per run")
    p.add_argument("--isolate", action="store_true",
                   help="a fresh worker process per run (forked from a server that imported torch once)")
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
    import sailfish
    from rich.console import Console

    from sailfish.ablate import report, run_ablation, validate
    from sailfish.ablate.spec import baseline_of, default_study

    names = sailfish.envs.names()
    if args.env not in names:
        fail(COMMAND, f"env: unknown environment {args.env!r} (available: {', '.join(sorted(names))})")
    if args.seeds < 1:
        fail(COMMAND, f"--seeds: must be >= 1, got {args.seeds}")
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
                  f"{'populations' if args.population == 'on' else 'one process per run'}")
    try:
        outcome = run_ablation(args.env, variants, args.seeds, study, runs_dir=args.runs_dir, common=common,
                               workers=args.workers, metric=args.metric, final_episodes=args.final_episodes,
                               isolate=args.isolate, console=console, population=args.population == "on")
    except ValueError as e:
        fail(COMMAND, str(e))
    report.print_table(console, outcome.rows, f"{study} ({args.env}, final episode {args.metric})")
    console.print(f"ran {len(outcome.ran)} runs in {outcome.wall_seconds:.1f} s, {outcome.skipped} already done; "
                  f"report: {outcome.study_dir / 'report.md'}")
    for label, error in outcome.failures.items():
        console.print(f"[red]failed[/red] {label}: {error}")
    return 1 if outcome.failures else 0
