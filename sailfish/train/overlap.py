"""Collection overlapped with the update (``Config.overlap_update``).

Without it an iteration is collect, then update, and during the update the envs stand idle (with
async batches each worker has stepped its one carried action). With it, the trainer keeps two
experience buffers: while the main thread updates the policy on one, a background thread fills the
other by acting with a copy of the policy taken just before that update. Every sample is therefore
one update stale when it is trained on; PPO's ratio against the stored behaviour log-probabilities
(and V-trace's clipped ratios, on by default) is what makes that sound, as in IMPALA and Sample
Factory. What it buys is the update's wallclock, whenever the envs and the update can run at once:
worker processes (the "multiprocessing" backend), or a native env stepping in C with the GIL
released while torch updates on another core.

The background thread owns the env, the collector and the action generator while it runs; the main
thread touches none of them until it joins the thread. Episode statistics the collection drains are
held and handed to the trainer's windows at the join, so metrics read meanwhile are never written
under the reader.
"""
from __future__ import annotations

import copy
import time
from concurrent.futures import Future, ThreadPoolExecutor


class _HeldStats:
    """Stands in for an ``EpisodeWindow`` during a background collection: keeps what it is given."""

    def __init__(self):
        self.drained: list[dict] = []

    def add(self, stats: dict) -> None:
        self.drained.append(stats)


class OverlappedCollection:
    """Double-buffered collection for one trainer (see the module docstring).

    ``next_batch()`` leaves ``trainer.experience`` full (the first call collects it in the calling
    thread) and starts collecting the following batch in the background; the caller then updates on
    ``trainer.experience``. ``close()`` joins a collection in flight and stops the thread. A checkpoint
    saved meanwhile holds the learner as it is; the batch in flight is not part of it (a resumed run
    collects afresh, as it always does).
    """

    def __init__(self, trainer):
        self.trainer = trainer
        # The acting policy: a frozen copy, refreshed from the learner before each collection starts.
        self.behaviour = copy.deepcopy(trainer.policy).requires_grad_(False)
        self.back = trainer.experience.empty_like()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sailfish-collect")
        self.future: Future | None = None
        self.held: list[_HeldStats | None] = []
        trainer.collector.policy = self.behaviour

    def next_batch(self) -> None:
        """``trainer.experience`` full of the next batch; the one after it collecting meanwhile."""
        tr = self.trainer
        first = self.future is None
        if not first:
            self._join()
            tr.experience, self.back = self.back, tr.experience
        # Nothing is in flight: the acting copy takes the learner's weights for what comes next.
        self.behaviour.load_state_dict(tr.policy.state_dict())
        if first:
            tr.collect()  # the first batch, in this thread
        # The buffer the last update read is free again: the next collection fills it.
        tr.collector.experience = self.back
        self.held = [None if solved is not None else _HeldStats() for solved in tr.solved_at]
        self.future = self.pool.submit(tr.collector.collect, self.held, None)

    def _join(self) -> None:
        tr = self.trainer
        t0 = time.perf_counter()
        try:
            self.future.result()
        finally:
            self.future = None
        # The main thread's wait is what the collection cost this iteration: the env timer holds it
        # (the forward passes ran in the background, overlapped with the update).
        tr.timers["env"] += time.perf_counter() - t0
        tr.global_step += tr.batch_size
        for window, held in zip(tr.member_episodes, self.held):
            if held is not None:
                for stats in held.drained:
                    window.add(stats)

    def close(self) -> None:
        """Join a collection in flight (its batch is dropped) and stop the thread."""
        if self.future is not None:
            try:
                self.future.result()
            except BaseException:  # the run is ending already; its own error is the one to report
                pass
            self.future = None
        self.pool.shutdown(wait=True)
