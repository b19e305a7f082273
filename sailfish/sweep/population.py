"""``sailfish sweep --population K``: K trials asked of the study at once and trained together.

A round asks the study for K trials (``study.ask()``; the TPE sampler's constant liar keeps their
suggestions apart), builds each one's config from its suggestions as a solo trial does, groups the
trials whose configs share their structure (``sailfish.train.config.structure_key``: inside a
population only the ``PER_MEMBER`` keys may differ, e.g. ``lr``, ``gamma``, ``clip_coef``) and
trains each group as one population, the groups one after another; a group of one trains exactly as
a solo trial (``study.train_solo``, pruning included). When the search varies structural keys too
(``num_envs``, ``hidden_size``, ...), the round's first trial samples them and the other K - 1 take
its values (each asked as an enqueued partial trial, so the sampler still suggests the rest and the
study records the searched distributions); the next round samples them afresh. So every round
trains as one population, unless the study already had trials waiting (enqueued by the user: those
are asked as they are). Each trial is told its own member's objective,
the pair a solo trial reports: the final score over its final episode window, and its training
wallclock, which for a member is its population's seconds (until the end, or until the member
reached ``target_return``), so wallclocks compare among trials trained K at a time.

The study stays consistent: a trial whose suggested value its config refuses, or whose member
failed (a non-finite loss in its ``metrics.csv``, a non-finite final score, no finished episode), is
told FAIL with its error while the others complete; an error of a population as a whole fails each
of its trials; an exception that stops the worker (Ctrl-C) fails every trial not yet told. While the
round's trials are RUNNING one thread records a heartbeat for each of them (Optuna's own thread
beats for the single trial of ``study.optimize``, and ``ask`` starts none), so the trials of a
killed worker go silent and the next worker fails them (``fail_stale_trials``).

Members of a population are not pruned: they train in lockstep to the population's end, so stopping
one would not end it sooner. Each stores its score-vs-time curve (read from its ``metrics.csv``) for
the median rule of later solo trials.
"""
from __future__ import annotations

import threading
import time
import warnings
from typing import Any

from sailfish._extras import require
from sailfish.sweep.study import (SWEEP, SweepSettings, _say, claim, record_failure, record_result, train_solo,
                                  trial_config)


def structural_keys(space) -> list[str]:
    """The searched keys that a population's members must share (all but ``PER_MEMBER``'s): trials
    that differ in one of them train apart."""
    from sailfish.train.config import PER_MEMBER

    return [key for key in space if key not in PER_MEMBER]


def _ask(study, shared: dict[str, Any]):
    """``study.ask()``, its structural parameters fixed to ``shared`` (an enqueued partial trial,
    which the next ``ask`` takes) unless the study already has trials waiting (the user's enqueued
    ones go first, as they are)."""
    optuna = require("optuna", SWEEP)

    if shared and not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
        study.enqueue_trial(shared, skip_if_exists=False)
    return study.ask()


def population_line(trials) -> str | None:
    """How trials asked K at a time (``--population K``) were trained, or None when none were."""
    asked = [t for t in trials if t.user_attrs.get("population_asked")]
    if not asked:
        return None
    ks = sorted({int(t.user_attrs["population_asked"]) for t in asked})
    sizes: dict[int, int] = {}
    for members in {tuple(t.user_attrs["population"]) for t in asked if t.user_attrs.get("population")}:
        sizes[len(members)] = sizes.get(len(members), 0) + 1
    shown = ", ".join(f"{size} x{n}" for size, n in sorted(sizes.items(), reverse=True))
    return (f"{len(asked)} trials asked {' or '.join(map(str, ks))} at a time (--population), trained in "
            f"populations of {shown or 'none'}; a member's wallclock is its population's")


def population_round(study, settings: SweepSettings, space, size: int) -> int:
    """Ask ``size`` trials, train them together where their structure agrees, tell each its own
    objective (see the module doc); returns the number of trials asked."""
    optuna = require("optuna", SWEEP)

    from sailfish.sweep.space import suggest
    from sailfish.train.config import structure_key

    states = optuna.trial.TrialState
    beats = _Heartbeats()
    asked: list = []
    told: set[int] = set()

    def tell(trial, values=None, state=None) -> None:
        beats.forget(trial)
        told.add(trial.number)
        # skip_if_finished: another worker may have failed it for a stale heartbeat meanwhile
        study.tell(trial, values, state=state, skip_if_finished=True)

    try:
        members = []
        shared: dict[str, Any] = {}  # the round's structural suggestions, taken from its first trial
        for i in range(size):
            with warnings.catch_warnings():  # "heartbeat ... with Study.optimize": _Heartbeats beats for ask
                warnings.filterwarnings("ignore", message="Heartbeat of storage")
                asked.append(_ask(study, shared if i > 0 else {}))
            beats.add(asked[-1])
            if i == 0:
                beats.start(settings.heartbeat)
            trial = asked[-1]
            try:
                claim(trial, settings)
            except optuna.TrialPruned:
                tell(trial, state=states.PRUNED)
                continue
            trial.set_user_attr("population_asked", settings.population)
            params = suggest(trial, space)
            if i == 0:
                names = {space[key].param_name for key in structural_keys(space)}
                shared = {name: value for name, value in trial.params.items() if name in names}
            try:
                members.append((trial, params, trial_config(trial, settings, params)))
            except ValueError as e:
                record_failure(trial, settings, e)
                tell(trial, state=states.FAIL)
        groups: dict[tuple, list] = {}
        for member in members:
            groups.setdefault(structure_key(member[2]), []).append(member)
        if members:
            shown = ", ".join("(" + " ".join(str(t.number) for t, _, _ in g) + ")" for g in groups.values())
            _say(settings, f"asked {len(asked)} trials at a time: training together {shown}")
        for group in groups.values():
            for trial, _, _ in group:
                trial.set_user_attr("population", [t.number for t, _, _ in group])
            if len(group) == 1:
                _train_alone(group[0], settings, tell, states)
            else:
                _train_together(group, settings, tell, states)
    except BaseException as e:  # the worker stops (Ctrl-C, a storage error): no trial left RUNNING
        for trial in asked:
            if trial.number not in told:
                try:
                    why = "Ctrl-C" if isinstance(e, KeyboardInterrupt) else f"{type(e).__name__}: {e}"
                    trial.set_user_attr("error", f"its worker stopped ({why}) before it finished")
                    tell(trial, state=states.FAIL)
                except Exception:  # the storage is gone too: its heartbeat stops, fail_stale_trials fails it
                    pass
        raise
    finally:
        beats.stop()
    return len(asked)


def _train_alone(member, settings: SweepSettings, tell, states) -> None:
    optuna = require("optuna", SWEEP)

    trial, params, _ = member
    try:
        values = train_solo(trial, settings, params)
    except optuna.TrialPruned:
        tell(trial, state=states.PRUNED)
    except Exception:  # train_solo recorded the error
        tell(trial, state=states.FAIL)
    else:
        tell(trial, values)


def _train_together(group: list, settings: SweepSettings, tell, states) -> None:
    from sailfish.sweep.runner import Diverged, curve_from_csv, measured_members

    started = time.perf_counter()
    try:
        outcomes = measured_members([config for _, _, config in group], metric=settings.metric)
    except Exception as e:  # the population as a whole (its env, its trainer) failed
        for trial, _, _ in group:
            record_failure(trial, settings, e)
            tell(trial, state=states.FAIL)
        return
    for (trial, params, _), outcome in zip(group, outcomes):
        if not isinstance(outcome, Exception):
            try:
                outcome.curve = curve_from_csv(outcome.run_dir, settings.metric)
            except Diverged as e:
                outcome = e
        if isinstance(outcome, Exception):
            record_failure(trial, settings, outcome)
            tell(trial, state=states.FAIL)
        else:
            tell(trial, record_result(trial, settings, params, outcome, started))


class _Heartbeats:
    """One thread recording a heartbeat for every RUNNING trial of a round each interval.

    The first heartbeat of each trial is recorded as soon as it is asked, so a worker killed at any
    later point leaves trials that ``fail_stale_trials`` can fail (one with no heartbeat would stay
    RUNNING for ever).
    """

    def __init__(self):
        self.storage: Any = None
        self.ids: dict[int, int] = {}  # trial number -> trial id
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, trial) -> None:
        # A sweep's storage always beats (study.open_storage); Optuna wraps it in its cache, which
        # passes heartbeats through.
        self.storage = trial.storage
        with self.lock:
            self.ids[trial.number] = trial._trial_id  # Optuna has no public name for a Trial's id
        self.storage.record_heartbeat(trial._trial_id)

    def forget(self, trial) -> None:
        with self.lock:
            self.ids.pop(trial.number, None)

    def start(self, interval: float) -> None:
        if self.storage is not None:
            self.thread = threading.Thread(target=self._beat, args=(interval,), daemon=True)
            self.thread.start()

    def _beat(self, interval: float) -> None:
        while not self.stopped.wait(interval):
            with self.lock:
                ids = list(self.ids.values())
            for trial_id in ids:
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception:  # a busy database: the next beat tries again, within the grace period
                    pass

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()
