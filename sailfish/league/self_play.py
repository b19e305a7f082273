"""``train_self_play``: PPO against a league of the learner's own snapshots.

The training loop is ``Trainer.iteration()`` plus the league's bookkeeping after each update: rate the
finished games, add a snapshot every ``snapshot_interval`` updates, log the learner's rating, and save
the league next to the run's checkpoints (``league.pt``) so ``--resume`` continues it.
"""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path
from typing import Any

import torch

from sailfish.league.league import League, LeagueConfig
from sailfish.league.opponents import policy_for_spaces
from sailfish.league.wrapper import OpponentEnv
from sailfish.train.interrupt import DeferredInterrupt, StoppedBetweenIterations

LEAGUE_FILE = "league.pt"
RATING_FILE = "league.csv"
RATING_COLUMNS = ["step", "elapsed_s", "update", "learner_mu", "learner_sigma", "learner_ordinal", "pool", "games"]


def make_self_play(config, league_config: LeagueConfig, resume: str | os.PathLike | None = None):
    """The wrapped env, the trainer and the league of a self-play run (nothing started yet).

    ``config.env`` must have more than one row per instance (connect4, pong: ``env_config = {players = 2}``;
    snake, mmo: several snakes or agents), and more than ``league_config.learner_rows_per_env``: the
    learner plays that many rows of each instance, the league's opponents the rest, except in the
    ``league_config.mirror_fraction`` of the instances where it plays every row against itself.
    """
    from sailfish.train import Trainer, make_env

    env = make_env(config)
    rows = int(getattr(env, "agents_per_env", 1))
    if rows < 2:
        env.close()
        raise ValueError(f"env_config: self-play needs an env with two rows per instance, {config.env} has one "
                         "(connect4, pong: --env-config players=2)")
    if not league_config.learner_rows_per_env < rows:
        env.close()
        raise ValueError(f"[league] learner_rows_per_env: must be below the {rows} rows per instance of "
                         f"{config.env} (the rest are the opponent's), got {league_config.learner_rows_per_env}")
    template = policy_for_spaces(env.single_observation_space, env.single_action_space, config)
    league = League(league_config, template, env.single_action_space, config.env, env.single_observation_space,
                    fused_act=config.fused_act)
    if resume is not None:
        path = Path(resume) / LEAGUE_FILE
        if not path.is_file():
            env.close()
            raise ValueError(f"--resume: {resume} has no {LEAGUE_FILE} (not a self-play run)")
        from sailfish.train.checkpoint import load_checkpoint

        league.load_state_dict(load_checkpoint(path)["league"])
    mirror_envs = int(league_config.mirror_fraction * env.num_instances)  # floor: < num_instances, as f < 1
    if league_config.mirror_fraction > 0 and mirror_envs == 0:
        env.close()
        raise ValueError(f"[league] mirror_fraction: {league_config.mirror_fraction} of {env.num_instances} env "
                         "instances is none of them; raise it or num_envs (or set it 0)")
    wrapped = OpponentEnv(env, league_config.learner_rows_per_env, league,
                          alternate_seats=league_config.alternate_seats, seed=league_config.seed + config.seed,
                          mirror_envs=mirror_envs)
    trainer = Trainer(wrapped, config=config, resume=resume)
    if resume is None:
        league.add_snapshot(trainer.policy, 0)  # the first opponent: the learner as initialised
    return wrapped, trainer, league


def save_league(league: League, run_dir: Path, update: int) -> Path:
    """Writes ``league.pt`` atomically (tensors, numbers, strings, dicts only)."""
    from sailfish.train.checkpoint import check_payload

    payload = {"league": league.state_dict(), "update": int(update)}
    check_payload(payload, "league state")
    path, tmp = run_dir / LEAGUE_FILE, run_dir / (LEAGUE_FILE + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(payload, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def train_self_play(config, league_config: LeagueConfig, resume: str | os.PathLike | None = None,
                    logger: Any = None, plot: bool = True) -> tuple[Any, League]:
    """Trains ``config`` by self-play against a league; returns the (closed) trainer and the league.

    Training stops at ``config.total_steps`` or ``config.max_seconds`` of wallclock, whichever comes
    first (``Trainer.finished``).

    The run directory gets, besides the usual files, ``league.pt`` (saved with every checkpoint),
    ``league.csv`` (the learner's rating over wallclock, one row per log) and, with ``plot`` and
    matplotlib installed, ``league_rating.png`` at the end.
    """
    if config.overlap_update:  # the league changes its pool between updates, while opponents act in env.step
        raise ValueError("overlap_update: not with self-play (the league's pool changes while a background "
                         "collection plays it); set it false")
    env, trainer, league = make_self_play(config, league_config, resume)
    trainer.logger = logger
    try:
        trainer.start()
        run_dir = trainer.run_dir
        rating_log = _RatingLog(run_dir / RATING_FILE) if run_dir is not None else None
        last_log = -float("inf")
        with DeferredInterrupt() as interrupt:
            while not trainer.finished():
                try:
                    interrupt.check()
                except StoppedBetweenIterations:  # the state is whole: keep it for --resume
                    _save(trainer, league)
                    raise
                trainer.iteration()
                league.update_ratings()
                update = trainer.update_count
                if update % league_config.snapshot_interval == 0:
                    league.add_snapshot(trainer.policy, update)
                done = trainer.finished()
                now = time.perf_counter()
                if done or now - last_log >= config.log_seconds:
                    last_log = now
                    metrics = {**trainer.metrics(), **{f"league/{k}": v for k, v in league.learner_rating().items()}}
                    trainer.files.log(0, metrics, trainer.global_step)
                    if trainer.logger is not None:
                        trainer.logger.log(metrics, trainer.global_step)
                    if rating_log is not None:
                        rating_log.write(trainer, league)
                if config.checkpoint_interval and update % config.checkpoint_interval == 0 and not done:
                    _save(trainer, league)
                if done:
                    break
        _save(trainer, league)
        if rating_log is not None:
            rating_log.close()
            if plot:
                plot_rating(run_dir / RATING_FILE, run_dir / "league_rating.png")
    finally:
        trainer.close()
        env.close()
    return trainer, league


def _save(trainer, league: League) -> None:
    trainer.save()
    if trainer.run_dir is not None:
        save_league(league, trainer.run_dir, trainer.update_count)


class _RatingLog:
    """``league.csv``: appended to (a resumed run continues the file)."""

    def __init__(self, path: Path):
        new = not path.exists()
        self.file = open(path, "a", newline="")
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(RATING_COLUMNS)

    def write(self, trainer, league: League) -> None:
        r = league.learner_rating()
        self.writer.writerow([trainer.global_step, f"{trainer.elapsed():.3f}", trainer.update_count,
                              f"{r['mu']:.4f}", f"{r['sigma']:.4f}", f"{r['ordinal']:.4f}",
                              len(league.entries), league.games])
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def plot_rating(csv_path: Path, png_path: Path, message=print) -> Path | None:
    """The learner's rating (mu, with a ±sigma band) over wallclock as a PNG; None without matplotlib."""
    from sailfish._extras import MissingExtra, require

    try:
        plt = require("matplotlib.pyplot", "the league's rating plot")
    except MissingExtra as e:
        message(str(e))
        return None
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    t = [float(r["elapsed_s"]) for r in rows]
    mu = [float(r["learner_mu"]) for r in rows]
    sigma = [float(r["learner_sigma"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(t, mu, label="learner mu")
    ax.fill_between(t, [m - s for m, s in zip(mu, sigma)], [m + s for m, s in zip(mu, sigma)], alpha=0.2)
    ax.set_xlabel("wallclock (s)")
    ax.set_ylabel("openskill rating")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path


def load_league_file(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(train overrides, league settings)`` from a league TOML file: its ``[train]`` and ``[league]`` tables."""
    from sailfish.train.config import read_toml

    values = read_toml(path)
    unknown = sorted(set(values) - {"train", "league"})
    if unknown:
        raise ValueError(f"{path}: {unknown[0]}: a league file holds only [train] and [league] tables")
    return dict(values.get("train", {})), dict(values.get("league", {}))


def league_file(env: str) -> Path:
    """The shipped league settings of ``env``: ``sailfish/configs/league/<env>.toml``."""
    from sailfish.train.config import CONFIG_DIR

    return CONFIG_DIR / "league" / f"{env.replace(':', '_')}.toml"


def run_cli(args, build_config) -> int:
    """``sailfish train ENV --self-play``: the league file's ``[train]`` under the options (a resumed run
    keeps its own config), its ``[league]`` (a resumed run: the saved league's settings), then training."""
    import sys

    from sailfish.commands._common import fail
    from sailfish.train import distributed
    from sailfish.train.env import check_env_name
    from sailfish.ui import make_dashboard

    try:
        check_env_name(args.env)
        if args.seeds != 1 or distributed.active():
            raise ValueError("--self-play: one seed in one process (no --seeds, no torchrun) for now")
        path = Path(args.league) if args.league else league_file(args.env)
        if not path.is_file():
            raise ValueError(f"--self-play: no league settings for {args.env!r} ({path}); pass --league TOML")
        train, settings = load_league_file(path)
        if not args.resume:
            for key, value in train.items():
                if getattr(args, key, None) is None:
                    setattr(args, key, value)
        (config,) = build_config(args)
        if args.resume:
            from sailfish.train.checkpoint import load_checkpoint

            saved = Path(args.resume) / LEAGUE_FILE
            if saved.is_file():
                settings = load_checkpoint(saved)["league"]["config"]
        league_config = LeagueConfig.from_dict(settings)
    except ValueError as e:
        fail("train", str(e))
    logger = None if args.quiet else make_dashboard(config.env, config.total_steps, config.to_dict())
    try:
        trainer, league = train_self_play(config, league_config, resume=args.resume, logger=logger)
    except ValueError as e:
        fail("train", str(e))
    except StoppedBetweenIterations:
        print("interrupted; checkpoint and league saved in the run directory", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted mid-iteration; nothing saved now, the last checkpoint stands", file=sys.stderr)
        return 130
    r = league.learner_rating()
    print(f"run dir: {trainer.run_dir}; learner rating mu {r['mu']:.1f} sigma {r['sigma']:.2f} "
          f"({len(league.entries)} opponents, {league.games} games)")
    return 0
