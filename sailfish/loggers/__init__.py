"""Metric writers: CSV, TensorBoard, Weights & Biases, and a fan-out over several.

Every logger has ``log(metrics: dict[str, float], step: int)`` and ``close()``; the trainer calls
them once per log interval with plain Python floats (never tensors). CSV is always written;
TensorBoard needs the ``[tensorboard]`` extra and W&B the ``[wandb]`` extra.
"""
from __future__ import annotations

import csv
import importlib.util
import math
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from sailfish._extras import MissingExtra, require


class CSVLogger:
    """Appends one row per ``log`` to ``path``; a key seen for the first time rewrites the header."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.columns: list[str] = []
        if self.path.exists():  # resuming: keep the existing rows and columns
            with open(self.path, newline="") as f:
                header = next(csv.reader(f), None)
            self.columns = list(header or [])

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        row = {"step": step, **metrics}
        new = [k for k in row if k not in self.columns]
        if new:
            self._rewrite(self.columns + new)
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.columns, restval="").writerow(row)

    def _rewrite(self, columns: list[str]) -> None:
        rows = []
        if self.path.exists():
            with open(self.path, newline="") as f:
                rows = list(csv.DictReader(f))
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)
        self.columns = columns

    def close(self) -> None:
        pass


class TensorBoardLogger:
    """TensorBoard event files in ``log_dir``; ``MissingExtra`` without the ``[tensorboard]`` extra."""

    def __init__(self, log_dir: str | os.PathLike, config: Mapping[str, Any] | None = None):
        # torch.utils.tensorboard imports tensorboard; asking for it first names the extra on failure
        require("tensorboard", "TensorBoard logging")
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(log_dir))
        if config:
            table = "\n".join(f"|{k}|{v}|" for k, v in config.items())
            self.writer.add_text("config", "|key|value|\n|-|-|\n" + table)

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        for key, value in metrics.items():
            if isinstance(value, (int, float)) and not math.isnan(value):
                self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()


WANDB_FEATURE = "W&B logging (wandb = true)"


class WandbLogger:
    """Weights & Biases run (``WANDB_MODE=offline`` works without network); ``MissingExtra`` without
    the ``[wandb]`` extra."""

    def __init__(self, run_dir: str | os.PathLike, config: Mapping[str, Any], project: str = "sailfish"):
        wandb = require("wandb", WANDB_FEATURE)

        self.run = wandb.init(project=project, config=dict(config), dir=str(run_dir),
                              name=Path(run_dir).name, resume="allow")

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self.run.log(dict(metrics), step=step)

    def close(self) -> None:
        self.run.finish()


class MultiLogger:
    """Forwards every call to each of ``loggers``."""

    def __init__(self, loggers: Iterable[Any]):
        self.loggers = [lg for lg in loggers if lg is not None]

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        for logger in self.loggers:
            logger.log(metrics, step)

    def close(self) -> None:
        for logger in self.loggers:
            logger.close()


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a blocked or half-imported package
        return False


def wandb_available() -> bool:
    """True when the ``wandb`` package is installed (the ``[wandb]`` extra)."""
    return _installed("wandb")


def tensorboard_available() -> bool:
    """True when the ``tensorboard`` package is installed (the ``[tensorboard]`` extra)."""
    return _installed("tensorboard")


_said_no_tensorboard = False  # the notice is printed once per process, not once per run


def make_run_loggers(run_dir: str | os.PathLike, config: Mapping[str, Any], wandb: bool = False) -> MultiLogger:
    """The on-disk writers of a run: ``metrics.csv`` always; TensorBoard events when the
    ``[tensorboard]`` extra is installed (else one line on stderr says so, once per process); W&B if
    ``wandb`` (then the ``[wandb]`` extra is required: ``MissingExtra`` without it)."""
    global _said_no_tensorboard
    if wandb:  # checked before any writer opens a file, so a missing extra leaves nothing half made
        require("wandb", WANDB_FEATURE)
    run_dir = Path(run_dir)
    loggers: list[Any] = [CSVLogger(run_dir / "metrics.csv")]
    try:
        loggers.append(TensorBoardLogger(run_dir, config))
    except MissingExtra as e:
        if not _said_no_tensorboard:
            print(f"sailfish: metrics go to metrics.csv only, no TensorBoard events: {e}", file=sys.stderr)
            _said_no_tensorboard = True
    if wandb:
        loggers.append(WandbLogger(run_dir, config))
    return MultiLogger(loggers)


__all__ = ["CSVLogger", "TensorBoardLogger", "WandbLogger", "MultiLogger", "make_run_loggers",
           "wandb_available", "tensorboard_available"]
