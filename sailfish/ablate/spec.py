"""What an ablation runs: variants (named sets of config overrides) × seeds, and where each run lives."""
from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Variant:
    """A named set of config overrides (values as typed on the command line; ``Config`` coerces them)."""

    name: str
    overrides: dict[str, str]


@dataclass(frozen=True)
class RunSpec:
    """One run of an ablation: a variant at a seed, with everything the worker process needs."""

    env: str
    variant: str
    seed: int
    overrides: dict[str, Any]
    seed_dir: str
    metric: str
    final_episodes: int

    @property
    def result_path(self) -> Path:
        return Path(self.seed_dir) / "result.json"


_NAME = re.compile(r"^[A-Za-z0-9_.=+-]+$")


def parse_set(items: list[str]) -> list[tuple[str, list[str]]]:
    """``["lr=1e-3,3e-3", "clip_coef=0.1,0.2"]`` → ``[("lr", ["1e-3", "3e-3"]), ...]``."""
    out = []
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")
        parts = [v.strip() for v in values.split(",")]
        if not sep or not key or not all(parts):
            raise ValueError(f"--set {item!r}: expected key=value[,value...], e.g. --set lr=1e-3,3e-3")
        out.append((key, parts))
    return out


def parse_variant(text: str) -> Variant:
    """``"fast:lr=3e-3,clip_coef=0.1"`` → ``Variant("fast", {...})``; ``"baseline"`` = no overrides."""
    name, _, body = text.partition(":")
    name = name.strip()
    if not name or not _NAME.match(name):
        raise ValueError(f"--variant {text!r}: expected name:key=value[,key=value...] with a name of "
                         "letters, digits and _.=+-")
    overrides = {}
    for part in filter(None, (p.strip() for p in body.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"--variant {text!r}: expected key=value, got {part!r}")
        overrides[key.strip().replace("-", "_")] = value.strip()
    return Variant(name, overrides)


def build_variants(sets: list[str], named: list[str]) -> list[Variant]:
    """Named variants first, then the grid (cartesian product) of the ``--set`` values, in order."""
    variants = [parse_variant(v) for v in named]
    grid = parse_set(sets)
    if grid:
        keys = [k for k, _ in grid]
        for combo in itertools.product(*(vals for _, vals in grid)):
            name = "_".join(f"{k}={v}" for k, v in zip(keys, combo))
            variants.append(Variant(name, dict(zip(keys, combo))))
    if not variants:
        raise ValueError("no variants: give --set key=v1,v2 or --variant name:key=value (at least one)")
    names = [v.name for v in variants]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"--variant: duplicate variant name {dupes[0]!r}; give each variant its own name")
    return variants


def baseline_of(variants: list[Variant]) -> str:
    """The variant named ``baseline`` if there is one, else the first."""
    return next((v.name for v in variants if v.name == "baseline"), variants[0].name)


def default_study(env: str, variants: list[Variant], common: dict[str, Any]) -> str:
    """``ablate-<env>-<hash>``: the same command gives the same name (so it resumes), another a new one."""
    blob = json.dumps([env, [[v.name, sorted(v.overrides.items())] for v in variants], sorted(common.items())],
                      default=str)
    return f"ablate-{env}-{hashlib.sha1(blob.encode()).hexdigest()[:8]}"


def check_study_file(study_dir: Path, env: str, variants: list[Variant], common: dict[str, Any]) -> None:
    """Record the variants in ``study.json``; refuse a variant name reused with other settings."""
    path = study_dir / "study.json"
    known: dict[str, Any] = {}
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("env") != env:
            raise ValueError(f"--study: {study_dir} holds an ablation of {saved.get('env')!r}, not {env!r}; "
                             "choose another --study name")
        known = saved.get("variants", {})
    for v in variants:
        mine = {**common, **v.overrides}
        if v.name in known and known[v.name] != mine:
            raise ValueError(f"--study: variant {v.name!r} already ran in {study_dir} with {known[v.name]}, "
                             f"now {mine}; choose another --study name or variant name")
        known[v.name] = mine
    study_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"env": env, "variants": known})


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON to a temporary file beside ``path`` and rename it over ``path`` (never torn)."""
    import os

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
