"""Ctrl-C during training: a first SIGINT stops at the next iteration boundary (state whole, saved by
`sailfish train`), a second stops at once; real signals, in process and to a real `sailfish train`."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sailfish
from sailfish.train import Config, Trainer
from sailfish.train.checkpoint import checkpoint_paths, load_checkpoint
from sailfish.train.interrupt import StoppedBetweenIterations

SMALL = dict(num_envs=8, rollout_steps=32, minibatch_size=128, update_epochs=1, log_seconds=0)

# `sailfish ...` in a child that hears Ctrl-C. A shell's background job (as CI may run this suite)
# starts with SIGINT ignored, children inherit that, and Python then leaves it ignored: so the child
# puts Python's own handler back before it runs the CLI (preexec_fn would do it too, but is unsafe in
# a parent with threads).
SAILFISH_WITH_CTRL_C = [sys.executable, "-c", "import runpy, signal, sys; "
                        "signal.signal(signal.SIGINT, signal.default_int_handler); "
                        "sys.argv[0] = 'sailfish'; runpy.run_module('sailfish', run_name='__main__')"]


@pytest.fixture(autouse=True)
def python_handles_sigint():
    """This process's SIGINT under Python's default handler for the test (see SAILFISH_WITH_CTRL_C)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class SignalsAtLog:
    """A trainer logger that sends this process ``count`` SIGINTs from its ``at``-th log call (the
    trainer logs after every iteration here), recording the update count when it did."""

    def __init__(self, at: int, count: int):
        self.at, self.count, self.calls, self.sent_at = at, count, 0, None

    def __init_trainer__(self, trainer):
        self.trainer = trainer

    def log(self, metrics, step):
        self.calls += 1
        if self.calls == self.at:
            self.sent_at = self.trainer.update_count
            for _ in range(self.count):
                os.kill(os.getpid(), signal.SIGINT)

    def close(self):
        pass


def trainer_with(tmp_path, logger) -> Trainer:
    config = Config.load("cartpole", {"runs_dir": str(tmp_path), "total_steps": 8 * 32 * 1000, **SMALL})
    trainer = Trainer(sailfish.make("cartpole", num_envs=8, seed=0, log_interval=0), config=config)
    logger.__init_trainer__(trainer)
    trainer.logger = logger
    return trainer


def test_a_first_sigint_stops_the_run_at_the_next_iteration_boundary(tmp_path):
    logger = SignalsAtLog(at=3, count=1)
    trainer = trainer_with(tmp_path, logger)
    with pytest.raises(StoppedBetweenIterations):
        trainer.run()
    assert logger.sent_at == 3 and trainer.update_count == 3  # the iteration it arrived in ended, no other began
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own handler is back


def test_a_second_sigint_stops_at_once(tmp_path):
    logger = SignalsAtLog(at=2, count=2)
    trainer = trainer_with(tmp_path, logger)
    with pytest.raises(KeyboardInterrupt) as stopped:
        trainer.run()
    assert not isinstance(stopped.value, StoppedBetweenIterations)
    assert trainer.update_count == 2 and logger.calls == 2  # raised inside that log call, not at the boundary
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_on_sailfish_train_saves_a_checkpoint_of_the_last_whole_update(tmp_path):
    cmd = [*SAILFISH_WITH_CTRL_C, "train", "cartpole", "--quiet", "--runs-dir", str(tmp_path),
           "--total-steps", "100000000", "--log-seconds", "0", "--torch-threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(Path(tmp_path).glob("cartpole-*/metrics.csv")):  # training has begun
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted; checkpoint saved in" in err
    (run_dir,) = Path(tmp_path).glob("cartpole-*")
    payload = load_checkpoint(checkpoint_paths(run_dir)[-1])
    assert payload["update"] >= 1 and payload["global_step"] == payload["update"] * payload["config"]["num_envs"] \
        * payload["config"]["rollout_steps"]
