"""Terminal output of a run: a rich live dashboard on a TTY, plain periodic lines otherwise (CI, pipes).

Both are loggers (``log(metrics, step)``, ``message(text)``, ``close()``); the trainer never prints.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any, Mapping, TextIO


def _fmt_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _fmt_num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    ax = abs(x)
    if ax >= 1e9:
        return f"{x / 1e9:.2f}G"
    if ax >= 1e6:
        return f"{x / 1e6:.2f}M"
    if ax >= 1e4:
        return f"{x / 1e3:.1f}k"
    if ax >= 100 or float(x).is_integer():
        return f"{x:.0f}"
    return f"{x:.3g}"


def time_split(metrics: Mapping[str, float]) -> dict[str, float]:
    """Fractions of wallclock spent in env / forward / learn / other."""
    parts = {k: metrics.get(f"time/{k}", 0.0) for k in ("env", "forward", "learn", "other")}
    total = sum(parts.values()) or 1.0
    return {k: v / total for k, v in parts.items()}


def progress(metrics: Mapping[str, float], step: int, total_steps: int) -> tuple[float, float]:
    """(elapsed seconds, ETA seconds) from the metrics' elapsed time and SPS, or from the trainer's
    ``progress`` (the fraction done) where that is further along than the steps (a ``max_seconds``
    budget ending first)."""
    elapsed = metrics.get("elapsed_s", 0.0)
    sps = metrics.get("sps", 0.0)
    eta = (total_steps - step) / sps if sps > 0 else math.inf
    done = metrics.get("progress", 0.0)
    if done > step / max(total_steps, 1):  # so done > 0
        eta = elapsed * (1.0 - done) / done
    return elapsed, max(eta, 0.0)


def fraction_done(metrics: Mapping[str, float], step: int, total_steps: int) -> float:
    """The run's fraction done, 0 to 1: of its steps, or the trainer's ``progress`` where further."""
    return min(1.0, max(step / max(total_steps, 1), metrics.get("progress", 0.0)))


class PlainProgress:
    """One line per ``interval`` seconds (and the last one on close)."""

    def __init__(self, env: str, total_steps: int, interval: float = 5.0, stream: TextIO | None = None):
        self.env, self.total_steps, self.interval = env, total_steps, interval
        self.stream = stream or sys.stdout
        self._last_print = -math.inf
        self._pending: tuple[Mapping[str, float], int] | None = None

    def message(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        now = time.perf_counter()
        self._pending = (metrics, step)
        if now - self._last_print >= self.interval:
            self._print()
            self._last_print = now

    def _print(self) -> None:
        if self._pending is None:
            return
        m, step = self._pending
        self._pending = None
        elapsed, eta = progress(m, step, self.total_steps)
        split = time_split(m)
        pct = 100.0 * fraction_done(m, step, self.total_steps)
        line = (f"[{self.env}] step {_fmt_num(step)}/{_fmt_num(self.total_steps)} ({pct:.0f}%) "
                f"| {_fmt_num(m.get('sps', 0.0))} SPS | {_fmt_time(elapsed)} ETA {_fmt_time(eta)} "
                f"| return {_fmt_num(m.get('episode/return', math.nan))} "
                f"len {_fmt_num(m.get('episode/length', math.nan))} "
                f"score {_fmt_num(m.get('episode/score', math.nan))} "
                f"| kl {_fmt_num(m.get('losses/approx_kl', math.nan))} "
                f"clip {_fmt_num(m.get('losses/clipfrac', math.nan))} "
                f"ev {_fmt_num(m.get('losses/explained_variance', math.nan))} "
                f"| env {split['env']:.0%} fwd {split['forward']:.0%} learn {split['learn']:.0%} "
                f"other {split['other']:.0%}")
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        self._print()


class Dashboard:
    """A rich ``Live`` panel, redrawn on ``log`` at most ``max_hz`` times a second (no refresh thread,
    so it takes no CPU from training between logs)."""

    def __init__(self, env: str, total_steps: int, config: Mapping[str, Any] | None = None,
                 max_hz: float = 4.0, stream: TextIO | None = None, width: int | None = None):
        from rich.console import Console
        from rich.live import Live

        self.env, self.total_steps = env, total_steps
        self.config = dict(config or {})
        self.min_period = 1.0 / max_hz
        self.console = Console(file=stream or sys.stdout, width=width)
        self.live = Live(console=self.console, auto_refresh=False, transient=False)
        self.live.start()
        self._last = -math.inf
        self._messages: list[str] = []
        self._latest: tuple[Mapping[str, float], int] | None = None

    def message(self, text: str) -> None:
        self._messages = (self._messages + [text])[-3:]
        if self._latest is not None:
            self.live.update(self._render(*self._latest), refresh=True)
        else:
            self.console.print(text)

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self._latest = (metrics, step)
        now = time.perf_counter()
        if now - self._last >= self.min_period:
            self.live.update(self._render(metrics, step), refresh=True)
            self._last = now

    def _render(self, m: Mapping[str, float], step: int):
        from rich.console import Group
        from rich.panel import Panel
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        elapsed, eta = progress(m, step, self.total_steps)
        top = Table.grid(padding=(0, 2))
        top.add_row(f"[bold]{self.env}[/]", f"step {_fmt_num(step)} / {_fmt_num(self.total_steps)}",
                    f"[bold green]{_fmt_num(m.get('sps', 0.0))}[/] SPS",
                    f"elapsed {_fmt_time(elapsed)}", f"ETA {_fmt_time(eta)}", f"update {int(m.get('update', 0))}")
        bar = Table.grid()
        bar.add_row(ProgressBar(total=1.0, completed=fraction_done(m, step, self.total_steps), width=60))

        episodes = Table(title="episodes", show_header=False, box=None)
        for key in ("return", "length", "score", "count"):
            episodes.add_row(key, _fmt_num(m.get(f"episode/{key}", math.nan)))
        losses = Table(title="losses", show_header=False, box=None)
        for key in ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "explained_variance"):
            losses.add_row(key, _fmt_num(m.get(f"losses/{key}", math.nan)))
        losses.add_row("learning_rate", f"{m.get('charts/learning_rate', math.nan):.2e}")
        split = time_split(m)
        times = Table(title="time", show_header=False, box=None)
        for key, frac in split.items():
            times.add_row(key, f"{frac:6.1%}", "█" * int(round(20 * frac)))
        body = Table.grid(padding=(0, 4))
        body.add_row(episodes, losses, times)
        parts = [top, bar, body] + [f"[dim]{t}[/]" for t in self._messages]
        return Panel(Group(*parts), title="sailfish", border_style="blue")

    def close(self) -> None:
        if self._latest is not None:
            self.live.update(self._render(*self._latest), refresh=True)
        self.live.stop()


def make_dashboard(env: str, total_steps: int, config: Mapping[str, Any] | None = None,
                   stream: TextIO | None = None, interval: float = 5.0):
    """``Dashboard`` when ``stream`` (stdout by default) is a terminal, else ``PlainProgress``."""
    stream = stream or sys.stdout
    if hasattr(stream, "isatty") and stream.isatty():
        return Dashboard(env, total_steps, config, stream=stream)
    return PlainProgress(env, total_steps, interval=interval, stream=stream)


__all__ = ["Dashboard", "PlainProgress", "make_dashboard", "time_split"]
