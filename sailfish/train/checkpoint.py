"""Run directories and crash-safe checkpoints.

A checkpoint is written to a temporary file in the same directory, flushed to disk and renamed over
its final name (``os.replace`` is atomic), so a crash or SIGKILL leaves either the previous set of
checkpoints or the new one, never a torn file. Temporary files are ignored when looking for the newest.

A checkpoint holds only tensors, numbers, strings, None and lists/tuples/dicts of those, and is loaded
with ``torch.load(weights_only=True)``, so opening a checkpoint someone shared cannot run code:
``save_checkpoint`` refuses anything else before writing, and ``load_checkpoint`` refuses a file whose
pickle names any other global.
"""
from __future__ import annotations

import os
import pickle
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

_NAME = re.compile(r"^model_(\d+)\.pt$")

# Exact types, not isinstance: numpy.float64 is a float and an IntEnum is an int, but both pickle as
# their own class, which the weights-only loader refuses. Parameter and OrderedDict (what
# ``state_dict()`` returns) are on that loader's allowlist.
_LEAVES = (torch.Tensor, torch.nn.Parameter, int, float, bool, str, type(None))
_SEQUENCES = (list, tuple)
_MAPPINGS = (dict, OrderedDict)
_KEYS = (str, int)
_ALLOWED = "tensors, numbers, strings, lists, dicts only"


class UnsafeCheckpointError(ValueError):
    """A file refused as a checkpoint: its pickle names objects other than tensors, numbers, strings,
    lists and dicts (nothing of it was run), or it holds something other than a dict."""


def _type_name(value: Any) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def check_payload(payload: Any, where: str = "checkpoint payload") -> None:
    """Raise ``TypeError`` naming the first value in ``payload`` that a checkpoint may not hold.

    Allowed: tensors, int/float/bool, None, str, and lists/tuples/dicts of those (dict keys str or int).
    ``where`` is the name the path in the message starts from.
    """
    # Iterative walk, so a deep payload cannot hit the recursion limit; ``open_ids`` holds the ids of the
    # containers on the current path, to name a cycle rather than loop forever.
    stack: list[tuple[str, Any, bool]] = [(where, payload, False)]
    open_ids: set[int] = set()
    while stack:
        path, value, leaving = stack.pop()
        if leaving:
            open_ids.discard(id(value))
            continue
        cls = type(value)
        if cls in _LEAVES:
            continue
        if cls not in _SEQUENCES and cls not in _MAPPINGS:
            raise TypeError(f"{path}: {_type_name(value)} is not allowed ({_ALLOWED})")
        if id(value) in open_ids:
            raise TypeError(f"{path}: contains itself (a checkpoint must be a tree, not a cycle)")
        open_ids.add(id(value))
        stack.append((path, value, True))
        if cls in _MAPPINGS:
            children = []
            for key, child in value.items():
                if type(key) not in _KEYS:
                    raise TypeError(f"{path}: dict key {key!r} is a {_type_name(key)}; keys must be str or int")
                children.append((f"{path}[{key!r}]", child, False))
        else:
            children = [(f"{path}[{i}]", child, False) for i, child in enumerate(value)]
        stack.extend(reversed(children))  # first child checked first, so the error names the first offender


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
    """Write ``checkpoints/model_<update>.pt`` atomically; delete all but the newest ``keep``.

    ``payload`` may hold only tensors, numbers, strings, None and lists/tuples/dicts of those; anything
    else raises ``TypeError`` naming its path, before any file or folder is written.
    """
    check_payload(payload)
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
    """Load a checkpoint file on CPU (tensors are moved by whoever restores them).

    Unpickles with ``weights_only=True``: a file that names any other global (a class, a function to
    call) raises ``UnsafeCheckpointError`` (a ``ValueError``, one line) and nothing in it is run. A torn
    or unreadable file raises what ``torch.load`` raises (``RuntimeError``, ``EOFError``, ``OSError``).
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch raises this (with a multi-line hint to retry with weights_only=False) for a refused
        # global; we replace it with one line and do not offer the unsafe retry. A garbled pickle
        # (bad opcode) lands here too, and is refused rather than skipped: it is not ours either.
        raise UnsafeCheckpointError(
            f"{path}: not a Sailfish checkpoint: it holds objects other than tensors, numbers, strings, "
            f"lists and dicts (refusing to unpickle them; checkpoints of sailfish 0.1 hold a NumPy RNG "
            f"state and are refused too)") from None
    if type(payload) not in _MAPPINGS:
        raise UnsafeCheckpointError(f"{path}: not a Sailfish checkpoint: it holds a {_type_name(payload)}, "
                                    f"not a dict")
    return payload


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
    """The newest checkpoint of a run that loads; older ones are tried if a newer one is torn or unreadable.

    A file refused as unsafe (``UnsafeCheckpointError``) is raised, not skipped: someone put it there,
    and resuming quietly from an older one would hide that.
    """
    candidates = checkpoint_paths(run_dir)
    if not candidates:
        raise ValueError(f"{run_dir}: no checkpoints to resume from")
    failures = []
    for path in reversed(candidates):
        try:
            return path, load_checkpoint(path)
        # What a truncated file raises from torch.load (torch 2.13), measured by cutting a checkpoint
        # every 7 bytes: RuntimeError (zip directory missing), OSError, EOFError (empty file).
        except (RuntimeError, OSError, EOFError) as e:
            failures.append(f"{path.name}: {type(e).__name__}")
    raise ValueError(f"{run_dir}: no readable checkpoint ({', '.join(failures)})")
