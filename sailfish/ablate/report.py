"""The ablation's report: per-variant IQM with CI, probability of improvement over the baseline, median
wallclock; written as a rich table, ``report.csv``, ``report.md`` and ``score_vs_wallclock.png``."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from sailfish import stats
from sailfish._extras import require
from sailfish.sweep.runner import METRICS

COLUMNS = ["variant", "baseline", "overrides", "runs", "iqm", "iqm_ci_low", "iqm_ci_high",
           "p_improve", "p_improve_ci_low", "p_improve_ci_high", "median_wallclock_s"]


def load_results(study_dir: Path) -> list[dict[str, Any]]:
    """Every ``<variant>/seed<k>/result.json`` under the study directory."""
    return [json.loads(p.read_text()) for p in sorted(study_dir.glob("*/seed*/result.json"))]


def summarize(results: list[dict[str, Any]], variants: list[str], baseline: str,
              overrides: dict[str, dict]) -> list[dict[str, Any]]:
    """One row per variant (in ``variants`` order; variants without results get NaNs)."""
    by_variant = {v: np.array([r["final_score"] for r in results if r["variant"] == v]) for v in variants}
    base = by_variant.get(baseline, np.array([]))
    rows = []
    for v in variants:
        scores = by_variant[v]
        walls = [r["train_seconds"] for r in results if r["variant"] == v]
        row = dict.fromkeys(COLUMNS, math.nan)
        row.update(variant=v, baseline=v == baseline, runs=len(scores),
                   overrides=" ".join(f"{k}={x}" for k, x in overrides.get(v, {}).items()))
        if len(scores):
            row["iqm"], row["iqm_ci_low"], row["iqm_ci_high"] = stats.iqm_with_ci(scores)
            row["median_wallclock_s"] = float(np.median(walls))
            if len(base) and v != baseline:
                p = stats.probability_of_improvement_with_ci(scores, base)
                row["p_improve"], row["p_improve_ci_low"], row["p_improve_ci_high"] = p
        rows.append(row)
    return rows


def _fmt(x: Any, digits: int = 3) -> str:
    if isinstance(x, float):
        return "–" if math.isnan(x) else f"{x:.{digits}g}"
    return str(x)


def _ci(row: dict, key: str) -> str:
    if math.isnan(row[key]):
        return "–"
    return f"{_fmt(row[key])} [{_fmt(row[key + '_ci_low'])}, {_fmt(row[key + '_ci_high'])}]"


def table_lines(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Headers and text cells shared by the terminal table and the Markdown file."""
    headers = ["variant", "runs", "IQM final score [95% CI]", "P(improve over baseline) [95% CI]",
               "median wallclock (s)"]
    cells = [[r["variant"] + (" (baseline)" if r["baseline"] else ""), str(r["runs"]), _ci(r, "iqm"),
              _ci(r, "p_improve"), _fmt(r["median_wallclock_s"])] for r in rows]
    return headers, cells


def write_report(study_dir: Path, rows: list[dict[str, Any]], env: str, metric: str, seeds: int,
                 failures: dict[str, str], mode: str = "one process per run") -> None:
    """``report.csv`` (numbers) and ``report.md`` (the table plus how to read it)."""
    with open(study_dir / "report.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    headers, cells = table_lines(rows)
    lines = [f"# Ablation `{study_dir.name}` on `{env}`", "",
             f"Final score: mean episode {metric} over each run's final episode window; {seeds} seeds per "
             "variant. IQM and its 95% CI: interquartile mean over runs (the mean after dropping "
             "int(0.25 n) runs at each end, scipy.stats.trim_mean(x, 0.25) as rliable reports it), "
             "stratified percentile bootstrap (Agarwal et al. 2021). P(improve): probability that a run "
             "of the variant beats a run of the baseline (ties count 1/2), with its bootstrap CI. "
             "Wallclock: seconds of training per run.", "", f"Ran as: {mode}.", "",
             "| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    for r in rows:
        lines.append(f"\n- `{r['variant']}`: {r['overrides'] or 'defaults'}")
    if failures:
        lines += ["", "## Failed runs (retried by the next invocation)", ""]
        lines += [f"- `{k}`: {v}" for k, v in failures.items()]
    (study_dir / "report.md").write_text("\n".join(lines) + "\n")


def print_table(console, rows: list[dict[str, Any]], title: str) -> None:
    """The report as a rich table."""
    from rich.table import Table

    headers, cells = table_lines(rows)
    table = Table(title=title)
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for c in cells:
        table.add_row(*c)
    console.print(table)


def _curve(metrics_csv: Path, key: str) -> tuple[np.ndarray, np.ndarray]:
    times, scores = [], []
    with open(metrics_csv, newline="") as f:
        for row in csv.DictReader(f):
            try:
                t, s = float(row["elapsed_s"]), float(row[key])
            except (KeyError, ValueError):
                continue
            if math.isfinite(t) and math.isfinite(s):
                times.append(t)
                scores.append(s)
    return np.array(times), np.array(scores)


def curve_points(points: list) -> tuple[np.ndarray, np.ndarray]:
    """A curve stored with a result (``[[elapsed_s, score], ...]``, None for a missing score) as
    arrays, the points without a finite score left out (as ``metrics.csv``'s are)."""
    kept = [(float(t), float(s)) for t, s in points
            if t is not None and s is not None and math.isfinite(t) and math.isfinite(s)]
    return np.array([t for t, _ in kept]), np.array([s for _, s in kept])


def plot_score_vs_wallclock(study_dir: Path, results: list[dict[str, Any]], variants: list[str],
                            metric: str, points: int = 100) -> Path | None:
    """``score_vs_wallclock.png``: per variant, the mean over seeds of the score logged in each run's
    ``metrics.csv`` (or the result's own ``curve``, where it carries one: a result read from a shared
    study's database) against its elapsed seconds, with a 95% bootstrap band of that mean. Curves are
    interpolated onto a common time grid that starts when every run has logged a score; a run that
    has finished holds its last value. ``MissingExtra`` without the ``[plot]`` extra."""
    matplotlib = require("matplotlib", "the score-vs-wallclock plot")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = METRICS[metric]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    drawn = False
    for v in variants:
        curves = []
        for r in results:
            if r["variant"] != v:
                continue
            path = study_dir / v / f"seed{r['seed']}" / (r.get("run_dir") or "") / "metrics.csv"
            if r.get("curve") is not None:
                t, s = curve_points(r["curve"])
            elif r.get("run_dir") and path.exists():
                t, s = _curve(path, key)
            else:
                continue
            if len(t):
                curves.append((t, s))
        if not curves:
            continue
        start = max(t[0] for t, _ in curves)
        end = max(t[-1] for t, _ in curves)
        grid = np.linspace(start, end, points) if end > start else np.array([start])
        ys = np.stack([np.interp(grid, t, s) for t, s in curves])
        mean, lo, hi = stats.mean_with_ci(ys)
        (line,) = ax.plot(grid, mean, label=f"{v} (n={len(curves)})")
        ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("wallclock (s)")
    ax.set_ylabel(f"episode {metric}")
    ax.set_title(f"{study_dir.name}: mean over seeds, 95% CI")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = study_dir / "score_vs_wallclock.png"
    fig.savefig(out)
    plt.close(fig)
    return out
