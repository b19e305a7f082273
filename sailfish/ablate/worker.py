"""The function a worker process runs for one ablation run (importable, so 'spawn' can pickle it)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from sailfish.ablate.spec import RunSpec, write_json_atomic


def _fresh_seed_dir(spec: RunSpec) -> Path:
    seed_dir = Path(spec.seed_dir)
    if seed_dir.exists():
        for stale in seed_dir.iterdir():
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    seed_dir.mkdir(parents=True, exist_ok=True)
    return seed_dir


def _payload(spec: RunSpec, result, started: float, seed_dir: Path, mode: str) -> dict[str, Any]:
    return {
        "variant": spec.variant, "seed": spec.seed, "env": spec.env, "overrides": spec.overrides,
        "metric": spec.metric, "final_score": result.final_score, "train_seconds": result.train_seconds,
        "run_seconds": result.run_seconds, "global_step": result.global_step,
        "run_dir": str(Path(result.run_dir).relative_to(seed_dir)) if result.run_dir else None,
        "started": started, "mode": mode,
    }


def run_population(specs: list[RunSpec]) -> list[dict[str, Any]]:
    """Train ``specs`` (runs sharing their structure) as one population in this process; each member
    writes its own run and ``result.json`` under its seed directory, as ``run_one`` would."""
    from sailfish.sweep.runner import measured_population
    from sailfish.train import Config

    seed_dirs = [_fresh_seed_dir(spec) for spec in specs]
    configs = [Config.load(spec.env, {**spec.overrides, "seed": spec.seed, "runs_dir": str(d)})
               for spec, d in zip(specs, seed_dirs)]
    started = time.time()
    results = measured_population(configs, metric=specs[0].metric, final_episodes=specs[0].final_episodes)
    payloads = [_payload(spec, result, started, d, "population")
                for spec, result, d in zip(specs, results, seed_dirs)]
    for spec, payload in zip(specs, payloads):
        write_json_atomic(spec.result_path, payload)
    return payloads


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Train one variant at one seed under ``spec.seed_dir`` and write ``result.json`` atomically.

    Leftovers of an earlier attempt that never wrote its result (killed, crashed) are removed first,
    so the seed directory holds exactly one run. Errors propagate to the caller (the run has no result
    and is retried by the next invocation).
    """
    return train_run(spec)[0]


def train_run(spec: RunSpec, mode: str = "one process per run"):
    """``run_one``, also returning the ``sailfish.sweep.runner.RunResult`` (its score-vs-time curve):
    ``(result.json's payload, RunResult)``; ``mode`` is recorded in the payload."""
    from sailfish.sweep.runner import measured_run
    from sailfish.train import Config

    seed_dir = _fresh_seed_dir(spec)
    config = Config.load(spec.env, {**spec.overrides, "seed": spec.seed, "runs_dir": str(seed_dir)})
    started = time.time()
    result = measured_run(config, metric=spec.metric, final_episodes=spec.final_episodes)
    payload = _payload(spec, result, started, seed_dir, mode)
    write_json_atomic(spec.result_path, payload)
    return payload, result
