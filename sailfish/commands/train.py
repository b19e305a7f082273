"""``sailfish train <env> [--key value ...] [--resume RUN]``: train with PPO.

Every ``Config`` key is an option, dashes for underscores (``--total-steps 2e7 --lr 3e-3``); integers
accept ``2e7`` when integral, booleans ``true``/``false`` (a bare ``--compile`` means true).
Bad input exits with status 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from sailfish.commands._common import fail

COMMAND = "train"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``train`` on an ``argparse`` subparsers object; returns its parser."""
    from sailfish.train.config import RENAMED, Config, field_docs

    docs = field_docs()
    p = subparsers.add_parser(COMMAND, help="train a policy with PPO",
                              description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("env", help="environment name (see `sailfish envs`)")
    p.add_argument("--resume", metavar="RUN", help="run directory to continue from its newest checkpoint")
    p.add_argument("--config", metavar="TOML", help="TOML file of settings, applied before the options")
    p.add_argument("--quiet", action="store_true", help="no dashboard or progress lines")
    p.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="train N seeds (seed, seed+1, ...) at once as one population; prints each final "
                        "return and their interquartile mean with a 95%% bootstrap CI")
    p.add_argument("--self-play", action="store_true",
                   help="train against a league of the learner's own snapshots (sailfish.league); settings from "
                        "--league or sailfish/configs/league/<env>.toml")
    p.add_argument("--league", metavar="TOML", help="with --self-play: a file of [train] and [league] tables")
    for f in fields(Config):
        if f.name == "env":
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        extra = dict(nargs="?", const="true", metavar="BOOL") if kind == "bool" else dict(metavar=kind.upper())
        if kind == "dict":
            extra = dict(metavar="KEY=VALUE[,KEY=VALUE]")
        p.add_argument(flag, dest=f.name, default=None, help=docs.get(f.name, ""), **extra)
    for old, new in RENAMED.items():  # old spellings, still read for one release (Config warns)
        p.add_argument("--" + old.replace("_", "-"), dest=old, default=None, help=argparse.SUPPRESS)
    p.set_defaults(run=run)
    return p  # a StrictParser (sailfish.cli): bad input is one line, exit status 2


def build_config(args: argparse.Namespace):
    """The run's ``Config`` from the env's defaults, ``--config``/the resumed run's file, and options."""
    from sailfish.train.config import Config

    from sailfish.train.config import RENAMED

    names = [f.name for f in fields(Config) if f.name != "env"] + list(RENAMED)
    overrides = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    path = None
    if args.resume and (Path(args.resume) / "member0").is_dir():  # a population: one config per member
        dirs = sorted((d for d in Path(args.resume).iterdir() if d.name.startswith("member")),
                      key=lambda d: int(d.name[6:]))
        members = [Config.load(args.env, overrides, path=d / "config.toml") for d in dirs]
        if members[0].env != args.env:
            raise ValueError(f"--resume: run {args.resume} trained {members[0].env!r}, not {args.env!r}")
        return members
    if args.resume:
        path = Path(args.resume) / "config.toml"
        if not path.is_file():
            raise ValueError(f"--resume: {args.resume} is not a run directory (no config.toml)")
    elif args.config:
        path = args.config
    config = Config.load(args.env, overrides, path=path)
    if config.env != args.env:
        raise ValueError(f"--resume: run {args.resume} trained {config.env!r}, not {args.env!r}")
    if args.seeds < 1:
        raise ValueError(f"--seeds: must be >= 1, got {args.seeds}")
    return [config.replace(seed=config.seed + i) for i in range(args.seeds)]


def run(args: argparse.Namespace) -> int:
    """Execute ``sailfish train``; returns 0, or exits with status 2 and a one-line error."""
    from sailfish.train import Trainer, distributed, make_env
    from sailfish.train.env import make_member_env
    from sailfish.train.interrupt import StoppedBetweenIterations
    from sailfish.ui import make_dashboard

    from sailfish.train.env import check_env_name

    if args.self_play:
        from sailfish.league.self_play import run_cli

        return run_cli(args, build_config)
    if args.league:
        fail(COMMAND, "--league: only with --self-play")
    try:
        check_env_name(args.env)
        members = build_config(args)
        config = members[0]
        distributed.init_from_environment(config.device)  # under torchrun: join the process group
        if args.resume:
            from sailfish.train.checkpoint import checkpoint_paths
            first = Path(args.resume) / "member0" if len(members) > 1 else Path(args.resume)
            if not checkpoint_paths(first):
                raise ValueError(f"--resume: no checkpoints in {first}")
        env = make_env(config) if len(members) == 1 else make_member_env(members)
    except ValueError as e:
        fail(COMMAND, str(e))
    try:
        trainer = Trainer(env, config=members if len(members) > 1 else config, resume=args.resume)
        if distributed.active() and not args.resume:
            _name_torchrun_run(trainer, env, config)
        trainer.start()
    except ValueError as e:
        env.close()
        fail(COMMAND, str(e))
    quiet = args.quiet or trainer.rank != 0  # rank 0 alone shows progress (and writes the run)
    trainer.logger = None if quiet else make_dashboard(config.env, config.total_steps, config.to_dict())
    try:
        trainer.run()
    except StoppedBetweenIterations:  # the first Ctrl-C: the state is whole
        trainer.save()
        print(f"interrupted; checkpoint saved in {trainer.run_dir}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # a second one, maybe mid-update: saving could write a half-updated policy
        print(f"interrupted mid-iteration; nothing saved now, the last checkpoint in {trainer.run_dir} stands",
              file=sys.stderr)
        return 130
    finally:
        env.close()
        if distributed.active():
            import torch.distributed

            torch.distributed.destroy_process_group()
    if len(members) > 1 and trainer.rank == 0:
        print_population_scores(trainer)
    return 0


def _name_torchrun_run(trainer, env, config) -> None:
    """Under torchrun the run directory is named after its run id, so a restarted job (``--max-restarts``)
    finds it and resumes from its newest intact checkpoint."""
    import os

    from sailfish.train.checkpoint import checkpoint_paths
    from sailfish.train.env import env_label

    run_id = os.environ.get("TORCHELASTIC_RUN_ID", "torchrun")
    trainer.run_name = f"{env_label(env, config)}-{run_id}"
    folder = Path(config.runs_dir) / trainer.run_name
    if config.runs_dir and int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0 and checkpoint_paths(folder):
        trainer.resume_dir = folder


def print_population_scores(trainer) -> None:
    """Each member's final mean return (and when it reached ``target_return``), then their IQM + CI."""
    from sailfish.stats import iqm_with_ci

    finals = []
    for k, (member, window) in enumerate(zip(trainer.members, trainer.member_episodes)):
        final = window.mean("episode_return")
        finals.append(final)
        solved = "" if trainer.solved_at[k] is None else f", reached {member.target_return:g} at {trainer.solved_at[k]:.1f} s"
        print(f"member {k} (seed {member.seed}): return {final:.2f}{solved}")
    scores = [f for f in finals if f == f]
    if scores:
        point, low, high = iqm_with_ci(scores)
        print(f"IQM over {len(scores)} seeds: {point:.2f} (95% CI {low:.2f} .. {high:.2f})")
