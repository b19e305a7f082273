"""Ctrl-C during training takes effect between iterations, where the run's state is whole.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be. Raised inside an
optimizer step it leaves some parameters updated and others not (a checkpoint saved then would lie);
raised inside TensorBoard's writer (a queue shared with its thread) it can leave that writer unable
to close, so the process hangs at exit instead of stopping (seen in ``sweep --population``: about one
Ctrl-C in six under load). So while a training loop runs, a first SIGINT only asks it to stop: the
loop raises ``KeyboardInterrupt`` itself at its next iteration boundary. A second SIGINT stops at
once, as without this.
"""
from __future__ import annotations

import os
import signal
import threading

ASKED = b"\nCtrl-C: stopping after this iteration (Ctrl-C again to stop at once)\n"


class StoppedBetweenIterations(KeyboardInterrupt):
    """Raised by ``DeferredInterrupt.check()``: the run stopped at a boundary, so its state is whole
    and may be saved (a plain ``KeyboardInterrupt``, from a second Ctrl-C, may have hit mid-update)."""


class DeferredInterrupt:
    """A context manager for a training loop: a first SIGINT sets ``pending``; ``check()`` raises
    ``StoppedBetweenIterations`` for it.

    It installs its handler only in the main thread and only over Python's default one, so a caller
    with its own SIGINT handling (or a loop run in a thread) keeps what it had.
    """

    def __init__(self):
        self.pending = False
        self.previous = None

    def __enter__(self) -> DeferredInterrupt:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True
        os.write(2, ASKED)  # not print: a handler may run while the main thread is inside a print

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if a SIGINT arrived since the last check."""
        if self.pending:
            self.pending = False
            raise StoppedBetweenIterations

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None
