"""Aggregate statistics for few-run RL results, after Agarwal et al. 2021 ("Deep RL at the Edge of the
Statistical Precipice"): interquartile mean, stratified bootstrap confidence intervals and the
probability of improvement. numpy only, so no dependency on ``rliable`` (which fails to import with
current pandas).

Scores are arrays of shape ``[runs]`` (one task) or ``[runs, tasks]``. A *stratum* is one task: the
bootstrap resamples runs with replacement within each task column, never across tasks, so every
replicate keeps the design of the experiment (the same number of runs per task).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

CONFIDENCE = 0.95
"""Coverage of the percentile intervals returned by default."""


def _matrix(scores) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"scores: expected a non-empty [runs] or [runs, tasks] array, got shape {x.shape}")
    return x


def iqm_weights(n: int) -> np.ndarray:
    """Weight of each of ``n`` sorted values in the interquartile mean (they sum to 1).

    Value ``i`` (0-based, ascending) holds the probability mass ``[i/n, (i+1)/n]`` of the empirical
    distribution; its weight is the part of that interval inside ``[0.25, 0.75]``, divided by 0.5. When
    ``n`` is a multiple of 4 this drops exactly n/4 values at each end (``scipy.stats.trim_mean(x,
    0.25)``); otherwise the boundary values count fractionally, e.g. n = 9 gives weights
    ``[0, 0, .75, 1, 1, 1, .75, 0, 0] / 4.5``.
    """
    if n <= 0:
        raise ValueError(f"n: must be > 0, got {n}")
    lo = np.arange(n) / n
    overlap = np.clip(np.minimum(lo + 1.0 / n, 0.75) - np.maximum(lo, 0.25), 0.0, None)
    return overlap / 0.5


def iqm(scores) -> float:
    """Interquartile mean: the mean of the middle 50% of all runs × tasks scores, with fractional
    weights for the boundary values when their count is not a multiple of 4 (see ``iqm_weights``)."""
    x = np.sort(_matrix(scores).ravel())
    return float(x @ iqm_weights(x.size))


def _iqm_rows(samples: np.ndarray) -> np.ndarray:
    """IQM of each row of a ``[replicates, values]`` array (vectorized)."""
    return np.sort(samples, axis=1) @ iqm_weights(samples.shape[1])


def stratified_bootstrap(scores, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``[reps, runs, tasks]`` replicates: each task's runs resampled with replacement, independently."""
    x = _matrix(scores)
    runs, tasks = x.shape
    idx = rng.integers(0, runs, size=(reps, runs, tasks))
    return np.take_along_axis(np.broadcast_to(x, (reps, runs, tasks)), idx, axis=1)


def _percentile_ci(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(values, [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap_ci(scores, statistic: Callable[[np.ndarray], np.ndarray] | None = None, reps: int = 5000,
                 confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float]:
    """Percentile confidence interval of ``statistic`` under the stratified bootstrap.

    Args:
        scores: ``[runs]`` or ``[runs, tasks]``.
        statistic: maps ``[reps, runs * tasks]`` replicates to ``[reps]`` values; default the IQM.
        reps: bootstrap replicates.
        confidence: coverage, e.g. 0.95 for the 2.5th and 97.5th percentiles.
        seed: seed of the resampling generator (results are reproducible).
    """
    samples = stratified_bootstrap(scores, reps, np.random.default_rng(seed))
    flat = samples.reshape(reps, -1)
    values = _iqm_rows(flat) if statistic is None else np.asarray(statistic(flat))
    return _percentile_ci(values, confidence)


def iqm_with_ci(scores, reps: int = 5000, confidence: float = CONFIDENCE,
                seed: int = 0) -> tuple[float, float, float]:
    """``(iqm, ci_low, ci_high)`` with the stratified bootstrap percentile interval."""
    return (iqm(scores),) + bootstrap_ci(scores, None, reps, confidence, seed)


def _poi_batch(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) for batches: x ``[B, n, tasks]``, y ``[B, m, tasks]`` → ``[B]`` (mean over tasks)."""
    diff = x[:, :, None, :] - y[:, None, :, :]  # [B, n, m, tasks]
    wins = (diff > 0).mean(axis=(1, 2)) + 0.5 * (diff == 0).mean(axis=(1, 2))
    return wins.mean(axis=1)


def probability_of_improvement(x, y) -> float:
    """P(X > Y): the chance that a run of X beats a run of Y on the same task, ties counting one half
    (the Mann-Whitney U statistic over n·m pairs), averaged over tasks. ``x`` is ``[n]`` or
    ``[n, tasks]``, ``y`` is ``[m]`` or ``[m, tasks]``."""
    a, b = _matrix(x), _matrix(y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y: need the same tasks, got {a.shape[1]} and {b.shape[1]}")
    return float(_poi_batch(a[None], b[None])[0])


def probability_of_improvement_with_ci(x, y, reps: int = 2000, confidence: float = CONFIDENCE,
                                       seed: int = 0) -> tuple[float, float, float]:
    """``(P(X > Y), ci_low, ci_high)``: runs of X and of Y resampled independently within each task."""
    a, b = _matrix(x), _matrix(y)
    point = probability_of_improvement(a, b)
    rng = np.random.default_rng(seed)
    values = np.concatenate([  # in chunks, so n·m·reps comparisons never need much memory
        _poi_batch(stratified_bootstrap(a, k, rng), stratified_bootstrap(b, k, rng))
        for k in _chunks(reps, max(1, 2_000_000 // (a.size * b.shape[0])))])
    return (point,) + _percentile_ci(values, confidence)


def mean_with_ci(samples: np.ndarray, reps: int = 1000, confidence: float = CONFIDENCE,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``[runs, points]`` (e.g. curves on a common time grid): the mean over runs and a
    bootstrap percentile interval of that mean (runs resampled with replacement)."""
    x = np.asarray(samples, dtype=np.float64)
    idx = np.random.default_rng(seed).integers(0, x.shape[0], size=(reps, x.shape[0]))
    means = x[idx].mean(axis=1)  # [reps, points]
    tail = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(means, [tail, 100.0 - tail], axis=0)
    return x.mean(axis=0), lo, hi


def _chunks(total: int, size: int):
    while total > 0:
        yield min(size, total)
        total -= size
