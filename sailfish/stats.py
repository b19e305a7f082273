"""Aggregate statistics for few-run RL results, after Agarwal et al. 2021 ("Deep RL at the Edge of the
Statistical Precipice"): interquartile mean, stratified bootstrap confidence intervals and the
probability of improvement. numpy only, so no dependency on ``rliable`` (which fails to import with
current pandas); the IQM is rliable's, ``scipy.stats.trim_mean(x, 0.25)``, and the tests check it
against scipy.

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


IQM_METHODS = ("trimmed", "interpolated")
"""``"trimmed"`` (the default): ``scipy.stats.trim_mean(x, 0.25)``, the IQM rliable reports.
``"interpolated"``: the boundary values count fractionally (see ``iqm_weights``); kept only to
reproduce figures computed with it."""


def _check_method(method: str) -> None:
    if method not in IQM_METHODS:
        raise ValueError(f"method: must be one of {', '.join(map(repr, IQM_METHODS))}, got {method!r}")


def _cut(n: int) -> int:
    """Values dropped at each end of ``n`` sorted values: ``int(0.25 * n)``, as ``trim_mean`` does."""
    return n // 4


def iqm_weights(n: int, method: str = "trimmed") -> np.ndarray:
    """Weight of each of ``n`` sorted values (ascending) in the interquartile mean; they sum to 1.

    ``"trimmed"``: the ``int(0.25 * n)`` lowest and highest values get 0 and the rest share equally,
    e.g. n = 9 drops 2 at each end and gives the middle 5 weight 1/5; n < 4 drops nothing.

    ``"interpolated"``: value ``i`` holds the probability mass ``[i/n, (i+1)/n]`` of the empirical
    distribution and its weight is the part of that interval inside ``[0.25, 0.75]``, divided by 0.5,
    e.g. n = 9 gives ``[0, 0, .75, 1, 1, 1, .75, 0, 0] / 4.5``. Equal to ``"trimmed"`` when n is a
    multiple of 4.
    """
    _check_method(method)
    if n <= 0:
        raise ValueError(f"n: must be > 0, got {n}")
    if method == "trimmed":
        k = _cut(n)
        w = np.zeros(n)
        w[k:n - k] = 1.0 / (n - 2 * k)
        return w
    lo = np.arange(n) / n
    overlap = np.clip(np.minimum(lo + 1.0 / n, 0.75) - np.maximum(lo, 0.25), 0.0, None)
    return overlap / 0.5


def iqm(scores, method: str = "trimmed") -> float:
    """Interquartile mean of all runs × tasks scores pooled: by default ``scipy.stats.trim_mean(x,
    0.25)`` (sort, drop ``int(0.25 * n)`` values at each end, average the rest), the statistic of
    Agarwal et al. and rliable. ``method="interpolated"`` weights the boundary values fractionally
    instead (see ``iqm_weights``)."""
    _check_method(method)
    x = _matrix(scores).ravel()
    return float(_iqm_rows(x[None, :], method)[0])


def _iqm_rows(samples: np.ndarray, method: str = "trimmed") -> np.ndarray:
    """IQM of each row of a ``[replicates, values]`` array (vectorized; the same definition as ``iqm``)."""
    n = samples.shape[1]
    ordered = np.sort(samples, axis=1)
    if method == "trimmed":
        k = _cut(n)
        # the mean of the kept slice, not a weighted sum: trim_mean's own arithmetic
        return ordered[:, k:n - k].mean(axis=1)
    return ordered @ iqm_weights(n, method)


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
                 confidence: float = CONFIDENCE, seed: int = 0, method: str = "trimmed") -> tuple[float, float]:
    """Percentile confidence interval of ``statistic`` under the stratified bootstrap.

    Args:
        scores: ``[runs]`` or ``[runs, tasks]``.
        statistic: maps ``[reps, runs * tasks]`` replicates to ``[reps]`` values; default the IQM.
        reps: bootstrap replicates.
        confidence: coverage, e.g. 0.95 for the 2.5th and 97.5th percentiles.
        seed: seed of the resampling generator (results are reproducible).
        method: the IQM's definition when ``statistic`` is None (see ``IQM_METHODS``).
    """
    _check_method(method)
    samples = stratified_bootstrap(scores, reps, np.random.default_rng(seed))
    flat = samples.reshape(reps, -1)
    values = _iqm_rows(flat, method) if statistic is None else np.asarray(statistic(flat))
    return _percentile_ci(values, confidence)


def iqm_with_ci(scores, reps: int = 5000, confidence: float = CONFIDENCE, seed: int = 0,
                method: str = "trimmed") -> tuple[float, float, float]:
    """``(iqm, ci_low, ci_high)`` with the stratified bootstrap percentile interval; the point estimate
    and every replicate use the same IQM definition (``method``)."""
    return (iqm(scores, method),) + bootstrap_ci(scores, None, reps, confidence, seed, method)


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
