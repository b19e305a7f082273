"""Run directories and crash-safe checkpoints.

A checkpoint is written to a temporary file in the same directory, flushed to disk and renamed over
its final name (``os.replace`` is atomic), so a crash or SIGKILL leaves either the previous set of
checkpoints or the new one, never a torn file. Temporary files are ignored when looking for the newest.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import torch

_NAME = re.compile(r"^model_(\d+)\.pt$")


def new_run_dir(runs_dir: str | os.PathLike, env: str) -> Path:
    """``<runs_dir>/<env>-<YYYYmmdd-HHMMSS>`` (suffixed ``-1``, ``-2``... if taken), created."""
    base = Path(runs_dir) / f"{env}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 0
    while True:
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def checkpoint_paths(run_dir: str | os.PathLike) -> list[Path]:
    """Completed checkpoints of a run, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(run_dir: str | os.PathLike, update: int, payload: dict[str, Any], keep: int = 3) -> Path:
    """Write ``checkpoints/model_<update>.pt`` atomically; delete all but the newest ``keep``."""
    folder = Path(run_dir) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"model_{update:08d}.pt"
    tmp = folder / f".tmp-{os.getpid()}-{final.name}"
    with open(tmp, "wb") as f:
        torch.save(payload, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    for old in checkpoint_paths(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return final


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint file on CPU (tensors are moved by whoever restores them)."""
    return torch.load(path, map_location="cpu", weights_only=False)


def resolve_checkpoint(run_or_checkpoint: str | os.PathLike) -> Path:
    """A checkpoint file as given, or the newest checkpoint of a run directory.

    Raises ``ValueError`` (one line) when there is none.
    """
    path = Path(run_or_checkpoint)
    if path.is_file():
        return path
    if not path.is_dir():
        raise ValueError(f"{path}: no such run directory or checkpoint file")
    found = checkpoint_paths(path)
    if not found:
        raise ValueError(f"{path}: no checkpoints in {path / 'checkpoints'}")
    return found[-1]


def load_newest_intact(run_dir: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """The newest checkpoint of a run that loads; older ones are tried if a newer one is unreadable."""
    candidates = checkpoint_paths(run_dir)
    if not candidates:
        raise ValueError(f"{run_dir}: no checkpoints to resume from")
    for path in reversed(candidates):
        try:
            return path, load_checkpoint(path)
        except Exception:  # unreadable (disk full, manual edit): fall back to the previous one
            continue
    raise ValueError(f"{run_dir}: no readable checkpoint")
