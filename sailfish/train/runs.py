"""Where a run writes: its run directory (one per population member), ``config.toml``, the metric
writers (CSV, TensorBoard, W&B) and the checkpoints.

Layouts: a solo run is ``<runs_dir>/<env>-<time>/``; a population is ``<runs_dir>/<env>-<time>/member<k>/``
(one ordinary run directory per member), or, when the members name different ``runs_dir`` (an
ablation's runs), ``<member runs_dir>/<env>-<time>/`` each.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from sailfish.train.checkpoint import load_newest_intact, new_run_dir, save_checkpoint
from sailfish.train.config import Config


class RunFiles:
    """The files of one run or of a population's members (``members``: one ``Config`` each)."""

    def __init__(self, members: Sequence[Config]):
        self.members = list(members)
        self.root: Path | None = None  # the run directory (a population's holds member<k>/)
        self.dirs: list[Path | None] = [None] * len(self.members)
        self.loggers: list[Any] = [None] * len(self.members)

    def create(self, label: str, name: str | None = None) -> None:
        """New run directories named ``<label>-<time>`` (or ``name``), each member's ``config.toml`` written."""
        members, K = self.members, len(self.members)
        if len({m.runs_dir for m in members}) > 1:  # members filed apart
            self.dirs = [new_run_dir(m.runs_dir, label) if m.runs_dir else None for m in members]
        elif members[0].runs_dir and name:
            self.root = Path(members[0].runs_dir) / name
            self.root.mkdir(parents=True, exist_ok=True)
            self.dirs = [self.root] if K == 1 else [self.root / f"member{k}" for k in range(K)]
        elif members[0].runs_dir:
            self.root = new_run_dir(members[0].runs_dir, label)
            self.dirs = [self.root] if K == 1 else [self.root / f"member{k}" for k in range(K)]
        for member, path in zip(members, self.dirs):
            if path is not None:
                path.mkdir(exist_ok=True)
                member.save(path / "config.toml")

    def resume(self, run_dir: str | os.PathLike) -> list[tuple[Path, dict[str, Any]]]:
        """The newest intact checkpoint of each member of the run at ``run_dir`` (which it writes into)."""
        K = len(self.members)
        self.root = Path(run_dir)
        self.dirs = [self.root] if K == 1 else [self.root / f"member{k}" for k in range(K)]
        return [load_newest_intact(path) for path in self.dirs]

    def open_loggers(self) -> None:
        """The metric writers of every member that has a run directory."""
        if any(path is not None for path in self.dirs):
            from sailfish.loggers import make_run_loggers
            self.loggers = [None if path is None else make_run_loggers(path, m.to_dict(), wandb=m.wandb)
                            for m, path in zip(self.members, self.dirs)]

    def log(self, member: int, metrics: dict[str, float], step: int) -> None:
        if self.loggers[member] is not None:
            self.loggers[member].log(metrics, step)

    def save(self, member: int, update: int, payload: dict[str, Any]) -> Path | None:
        """Checkpoint ``payload`` into ``member``'s run directory (none without one)."""
        path = self.dirs[member]
        if path is None:
            return None
        return save_checkpoint(path, update, payload, keep=self.members[member].keep_checkpoints)

    def close(self) -> None:
        for logger in self.loggers:
            if logger is not None:
                logger.close()
        self.loggers = [None] * len(self.members)
