"""Worker failures with real processes: errors surface fast, nothing hangs, nothing leaks."""
import functools
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import gymnasium as gym
import numpy as np
import pytest

from sailfish.vector import Multiprocessing, WorkerError, WorkerTimeout


class Exploding(gym.Wrapper):
    """CartPole that raises on step ``at`` (counted per env instance)."""

    def __init__(self, at=3):
        super().__init__(gym.make("CartPole-v1"))
        self.at, self.steps = at, 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.at:
            raise_from_the_env()
        return super().step(action)


def raise_from_the_env():
    raise ArithmeticError("the env broke")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


def shm_names(pids):
    """Entries in /dev/shm that processes ``pids`` could have made (multiprocessing names
    carry the pid; ours would carry 'sailfish')."""
    if not os.path.isdir("/dev/shm"):
        return set()
    return {n for n in os.listdir("/dev/shm") if "sailfish" in n or any(f"-{pid}-" in n for pid in pids)}


@pytest.fixture
def deadline():
    """Fails a test that hangs instead of hanging the suite."""
    def timeout(*_):
        raise TimeoutError("the test hung")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def assert_no_leaks(pids):
    end = time.monotonic() + 3
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.02)
    assert not any(alive(p) for p in pids)
    assert multiprocessing.active_children() == []
    assert shm_names([os.getpid(), *pids]) == set()


def test_env_exception_surfaces_with_the_env_name_and_worker_traceback(deadline):
    env = Multiprocessing(lambda: Exploding(at=3), 4, num_workers=2)
    pids = env.pids
    env.reset()
    env.step(np.zeros(4, np.int64))
    start = time.monotonic()
    with pytest.raises(WorkerError) as error:
        for _ in range(3):
            env.step(np.zeros(4, np.int64))
    assert time.monotonic() - start < 2
    message = str(error.value)
    assert "env 0 (CartPole-v1)" in message and "ArithmeticError" in message and "the env broke" in message
    assert "raise_from_the_env" in message and "worker traceback" in message  # the worker's own frames
    assert env.closed
    assert_no_leaks(pids)
    with pytest.raises(RuntimeError, match="closed"):
        env.step(np.zeros(4, np.int64))


def test_env_that_fails_to_build_raises_at_creation(deadline):
    def broken():
        if multiprocessing.current_process().name != "MainProcess":
            raise ImportError("missing simulator")
        return gym.make("CartPole-v1")

    with pytest.raises(WorkerError, match=r"env 0 \(.*broken\) .* ImportError during creation: missing simulator"):
        Multiprocessing(broken, 2, num_workers=2)
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("when", ["idle", "in_flight"])
def test_killed_worker_gives_a_clear_error_not_a_hang(deadline, when):
    env = Multiprocessing(lambda: gym.make("CartPole-v1"), 4, num_workers=2, batch_size=2)
    pids = env.pids
    env.async_reset()
    batch = env.recv()
    if when == "in_flight":
        env.send(np.zeros(2, np.int64))
        batch = env.recv()  # group 1 is ours, group 0 steps
    os.kill(pids[0], signal.SIGKILL)
    start = time.monotonic()
    killed = r"worker 0 \(pid \d+, envs 0\.\.1 of CartPole-v1\) was killed by signal SIGKILL"
    with pytest.raises(WorkerError, match=killed):
        env.send(np.zeros(2, np.int64))
        for _ in range(3):
            env.recv()
            env.send(np.zeros(2, np.int64))
    assert time.monotonic() - start < 2 and batch.rows is not None
    assert_no_leaks(pids)


def test_worker_that_exits_by_itself_is_reported(deadline):
    class Quitter(gym.Wrapper):
        def step(self, action):
            os._exit(3)

    env = Multiprocessing(lambda: Quitter(gym.make("CartPole-v1")), 2, num_workers=2)
    env.reset()
    with pytest.raises(WorkerError, match="exited with code 3"):
        env.step(np.zeros(2, np.int64))
    assert_no_leaks(env.pids)


def test_close_leaves_no_processes_and_no_shared_memory(deadline):
    before = shm_names([os.getpid()])
    env = Multiprocessing(lambda: gym.make("CartPole-v1"), 4, num_workers=2)
    pids = env.pids
    env.reset()
    env.step(np.zeros(4, np.int64))
    assert all(alive(p) for p in pids)
    env.close()
    env.close()
    assert_no_leaks(pids)
    assert shm_names([os.getpid()]) == before


SCRIPT = textwrap.dedent("""
    import os, sys, time
    import gymnasium as gym, numpy as np
    from sailfish.vector import Multiprocessing
    env = Multiprocessing(lambda: gym.make("CartPole-v1"), 4, num_workers=2)
    env.reset()
    env.step(np.zeros(4, np.int64))
    print(" ".join(map(str, env.pids)), flush=True)
    if sys.argv[1] == "kill-self":
        os.kill(os.getpid(), 9)
    elif sys.argv[1] == "drop":
        del env
""")


@pytest.mark.parametrize("how", ["exit", "drop", "kill-self"])
def test_interpreter_exit_or_death_leaves_no_workers(deadline, how):
    """Exit without close(), garbage collection, and a SIGKILLed parent: the workers go."""
    result = subprocess.run([sys.executable, "-c", SCRIPT, how], capture_output=True, text=True, timeout=15,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == (-9 if how == "kill-self" else 0), result.stderr
    pids = [int(p) for p in result.stdout.split()]
    assert len(pids) == 2
    end = time.monotonic() + 3
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.02)
    assert not any(alive(p) for p in pids)
    assert "Traceback" not in result.stderr and "leaked" not in result.stderr, result.stderr


class Sleeper(gym.Env):
    """Sleeps for an hour (a hung simulator) in ``step`` number ``at`` or in ``reset``, in env
    instances built with ``hang=True`` only."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, hang=False, at=None):
        self.hang, self.at, self.steps = hang, at, 0

    def reset(self, seed=None, options=None):
        if self.hang and self.at is None:
            time.sleep(3600)
        self.steps = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.steps += 1
        if self.hang and self.steps == self.at:
            time.sleep(3600)
        return np.zeros(2, np.float32), 0.0, False, False, {}


_EARLIER_CHILDREN: set[int] = set()


@pytest.fixture(autouse=True)
def _earlier_children():
    """Children that existed before the test (an earlier test's fork server) are not the test's to stop."""
    psutil = pytest.importorskip("psutil")
    _EARLIER_CHILDREN.clear()
    _EARLIER_CHILDREN.update(p.pid for p in psutil.Process().children(recursive=True))
    yield


def children_of_this_process():
    """Live children started during this test."""
    psutil = pytest.importorskip("psutil")
    return [p for p in psutil.Process().children(recursive=True)
            if p.status() != psutil.STATUS_ZOMBIE and p.pid not in _EARLIER_CHILDREN]


def test_env_that_hangs_in_step_is_killed_and_reported_with_its_name_and_step(deadline):
    creators = [functools.partial(Sleeper, hang=(i == 3), at=17) for i in range(4)]
    env = Multiprocessing(creators, 4, num_workers=2, timeout=1.0)
    pids = env.pids
    env.reset()
    for _ in range(16):
        env.step(np.zeros(4, np.int64))
    start = time.monotonic()
    with pytest.raises(WorkerTimeout) as error:
        env.step(np.zeros(4, np.int64))
    assert 1.0 <= time.monotonic() - start < 3.0
    message = str(error.value)
    assert message == ("worker 1 (env 3, 'Sleeper'): step 17 did not finish within 1 s; the worker was killed "
                       "and the other workers stopped")
    assert isinstance(error.value, RuntimeError) and "\n" not in message
    assert env.closed
    assert_no_leaks(pids)
    assert children_of_this_process() == []


def test_env_that_hangs_in_reset_is_killed_and_reported(deadline):
    env = Multiprocessing([Sleeper, functools.partial(Sleeper, hang=True)], 2, num_workers=2, timeout=1.0)
    pids = env.pids
    with pytest.raises(WorkerTimeout, match=r"^worker 1 \(env 1, 'Sleeper'\): reset did not finish within 1 s"):
        env.reset()
    assert_no_leaks(pids)
    assert children_of_this_process() == []


def test_async_batch_that_hangs_is_reported_by_recv(deadline):
    creators = [functools.partial(Sleeper, hang=(i == 0), at=2) for i in range(4)]
    env = Multiprocessing(creators, 4, num_workers=2, batch_size=2, timeout=1.0)
    pids = env.pids
    env.async_reset()
    for _ in range(3):  # group 0's second step hangs; group 1 keeps answering
        env.recv()
        env.send(np.zeros(2, np.int64))
    with pytest.raises(WorkerTimeout, match=r"^worker 0 \(env 0, 'Sleeper'\): step 2 did not finish"):
        for _ in range(4):
            env.recv()
            env.send(np.zeros(2, np.int64))
    assert_no_leaks(pids)


@pytest.mark.parametrize("overlap", [False, True], ids=["collect-then-update", "overlap_update"])
def test_trainer_stops_with_the_hang_error_and_leaves_no_workers(deadline, overlap):
    from sailfish.train import Config, Trainer

    # with overlap_update the hang happens in the background collection and reaches the main thread
    config = Config(total_steps=10_000, num_envs=2, rollout_steps=16, bptt_horizon=16, minibatch_size=32,
                    runs_dir="", log_seconds=0, overlap_update=overlap)
    env = Multiprocessing([Sleeper, functools.partial(Sleeper, hang=True, at=20)], 2, num_workers=2, timeout=1.0)
    pids = env.pids
    with pytest.raises(WorkerTimeout, match=r"env 1, 'Sleeper'\): step 20 did not finish within 1 s"):
        Trainer(env, config=config).run()
    assert_no_leaks(pids)
    assert children_of_this_process() == []


def test_worker_timeout_config_key_reaches_the_multiprocessing_backend():
    from sailfish.train import Config, make_env

    env = make_env(Config(env="gym:CartPole-v1", backend="multiprocessing", num_envs=2, num_workers=1,
                          worker_timeout=2.5))
    assert env.timeout == 2.5
    env.close()
    env = make_env(Config(env="gym:CartPole-v1", backend="multiprocessing", num_envs=2, num_workers=1,
                          worker_timeout=0))
    assert env.timeout is None
    env.close()
    with pytest.raises(ValueError, match="worker_timeout: must be >= 0"):
        Config(worker_timeout=-1)
