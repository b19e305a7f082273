"""``Multiprocessing``: Python envs in worker processes over shared-memory buffers.

Each worker owns a contiguous slice of envs and their rows of six shared buffers (one
anonymous shared mapping: no name in ``/dev/shm``, so nothing can leak even on SIGKILL). The
main process and a worker talk through two pipes: one command byte in, one status byte out
(a pickled payload only for resets, renders and errors). A blocked pipe read costs no CPU,
which matters when envs, workers and the learner share a few cores; measured against
spinning on shared flags in ``benchmarks/vector_sps.py``.

Failure: an exception in a worker comes back as ``WorkerError`` naming the env, with the
worker's traceback; a worker that dies (a signal, ``os._exit``) is seen at once through its
process sentinel; a worker whose env takes longer than ``timeout`` seconds for one step, reset,
render or creation is killed and reported with the env and the step it hung in. Either way every
worker is stopped before the error is raised. ``close()``,
garbage collection and interpreter exit stop the workers (a close command, then SIGTERM, then
SIGKILL); a worker whose parent dies sees its command pipe close and exits.
"""
from __future__ import annotations

import ctypes
import math
import multiprocessing as mp
import os
import pickle
import select
import signal
import sys
import time
import traceback
import weakref
from typing import Any, Sequence

import numpy as np

from sailfish.emulation import make_adapter
from sailfish.vector.protocol import Buffers, EnvCreator, GroupedVecEnv, buffer_specs, creators_for

# Commands (main -> worker) and statuses (worker -> main), one byte each.
STEP, RESET, RENDER, CLOSE = b"s", b"r", b"v", b"c"
OK, DATA, ERROR = b"k", b"d", b"e"
_ALIGN = 64  # each buffer starts on its own cache line


class WorkerError(RuntimeError):
    """A worker's env raised, hung past the timeout, or a worker died. The message names the env
    and worker and, for an exception, carries the worker's traceback. The vector env is closed
    when it is raised."""


class WorkerTimeout(WorkerError):
    """A worker's env took longer than the vector env's ``timeout`` for one command; the worker
    was killed (SIGKILL) and the others stopped. The message is one line naming the worker, the
    env instance and name, and the step (counted from the last reset) or stage it hung in."""


def _extras(num_envs: int, num_workers: int) -> list[tuple[str, np.dtype, tuple]]:
    # per-env episode totals (written by the worker, read while it is idle); per worker: the
    # handshake counters [commands sent, statuses sent] and the env it is in (for a hang report)
    return [("stats", np.dtype(np.float64), (num_envs, 4)), ("flags", np.dtype(np.int64), (num_workers, 3))]


def _layout(specs: list[tuple[str, np.dtype, tuple]]) -> tuple[list[int], int]:
    offsets, end = [], 0
    for _, dtype, shape in specs:
        end = -(-end // _ALIGN) * _ALIGN
        offsets.append(end)
        end += np.dtype(dtype).itemsize * int(np.prod(shape, dtype=np.int64))
    return offsets, end + _ALIGN


def _views(raw: Any, specs: list, offsets: list[int]) -> tuple[Buffers, np.ndarray, np.ndarray]:
    """The row buffers (six, or seven with ``action_masks``), the episode totals and the handshake
    flags (see ``_extras``)."""
    memory = np.frombuffer(raw, np.uint8)
    skip = (-memory.ctypes.data) % _ALIGN
    arrays = []
    for (_, dtype, shape), offset in zip(specs, offsets):
        size = np.dtype(dtype).itemsize * int(np.prod(shape, dtype=np.int64))
        arrays.append(memory[skip + offset:skip + offset + size].view(dtype).reshape(shape))
    return Buffers(*arrays[:-2]), arrays[-2], arrays[-1]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _send(fd: int, code: bytes, payload: Any = None) -> None:
    if payload is None:
        os.write(fd, code)
    else:
        body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(fd, code + len(body).to_bytes(8, "little") + body)


def _read_payload(fd: int) -> Any:
    return pickle.loads(_read_exact(fd, int.from_bytes(_read_exact(fd, 8), "little")))


def _worker(index: int, creators: Any, first_env: int, raw: Any, specs: list, offsets: list, agents: int,
            spin: float, cmd: Any, res: Any, foreign: list) -> None:
    """A worker's whole life: build its envs, then serve commands until CLOSE or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    for conn in foreign:  # fork copied other workers' pipe ends: drop them so EOFs propagate
        conn.close()
    cmd_fd, res_fd = cmd.fileno(), res.fileno()
    envs: list = []
    current = first_env

    def report(stage: str) -> None:
        local = current - first_env
        if local < len(envs):
            name = envs[local].name
        else:  # the env is not built yet: name its creator
            creator = creators[local] if isinstance(creators, list) and local < len(creators) else None
            name = getattr(creator, "__qualname__", None) or repr(creator)
        exc = sys.exc_info()[1]
        flags[index, 1] += 1
        _send(res_fd, ERROR, f"env {current} ({name}) in worker {index} (pid {os.getpid()}) raised "
                             f"{type(exc).__name__} during {stage}: {exc}\n"
                             f"--- worker traceback ---\n{traceback.format_exc()}")

    try:
        if isinstance(creators, bytes):
            import cloudpickle

            creators = cloudpickle.loads(creators)
        buffers, stats, flags = _views(raw, specs, offsets)
        for i, creator in enumerate(creators):
            current = flags[index, 2] = first_env + i
            env = make_adapter(creator)
            row = (first_env + i) * agents
            env.bind(buffers.block(row, row + agents))
            stats[current] = env.stats.totals
            env.stats.totals = stats[current]  # episode sums land in shared memory directly
            envs.append(env)
        flags[index, 1] += 1
        _send(res_fd, OK)
    except BaseException:
        report("creation")
        return
    seen = 0
    while True:
        if spin:  # poll the command counter briefly before sleeping in read()
            end = time.perf_counter() + spin
            while flags[index, 0] == seen and time.perf_counter() < end:
                pass
        seen += 1
        try:
            code = os.read(cmd_fd, 1)
        except OSError:
            code = b""
        if code in (b"", CLOSE):
            break
        try:
            if code == STEP:
                for i, env in enumerate(envs):
                    current = flags[index, 2] = first_env + i
                    env.step()
            elif code == RESET:
                seeds = _read_payload(cmd_fd)
                for i, env in enumerate(envs):
                    current = flags[index, 2] = first_env + i
                    env.reset(seeds[i])
            elif code == RENDER:
                local = _read_payload(cmd_fd)
                current = flags[index, 2] = first_env + local
                frame = envs[local].render()
                flags[index, 1] += 1
                _send(res_fd, DATA, frame)
                continue
            flags[index, 1] += 1
            os.write(res_fd, OK)
        except BaseException:
            report({STEP: "step", RESET: "reset"}.get(code, "render"))
    for env in envs:
        try:
            env.close()
        except Exception:
            pass


def _shutdown(processes: list, cmd_conns: list, res_conns: list) -> None:
    """Stops workers politely, then firmly; closes the pipes. Safe to call twice."""
    for p, conn in zip(processes, cmd_conns):
        if p.is_alive() and not conn.closed:
            try:
                os.write(conn.fileno(), CLOSE)
            except OSError:
                pass
    deadline = time.monotonic() + 1.0
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in processes:
        if p.is_alive():
            p.terminate()
            p.join(0.5)
        if p.is_alive():
            p.kill()
            p.join()
    for conn in cmd_conns + res_conns:
        conn.close()
    for p in processes:
        try:
            p.close()
        except ValueError:
            pass


def _default_workers(num_envs: int) -> int:
    cores = os.cpu_count() or 1
    return max(d for d in range(1, min(num_envs, cores) + 1) if num_envs % d == 0)


class Multiprocessing(GroupedVecEnv):
    """``num_envs`` Gymnasium or PettingZoo envs across ``num_workers`` processes.

    Speaks ``VecEnv`` and ``AsyncVecEnv``: ``step`` steps every worker in parallel and waits;
    with ``batch_size < num_envs``, ``async_reset``/``recv``/``send`` keep the other groups of
    workers stepping while the policy computes on one batch (groups returned in round-robin
    order, so a run is reproducible whatever the timing). The buffers are shared memory: the
    returned arrays are views, rewritten by the workers.
    """

    def __init__(self, env_creator: EnvCreator | Sequence[EnvCreator], num_envs: int = 1, *,
                 num_workers: int | None = None, batch_size: int | None = None, seed: int | None = 0,
                 log_interval: int = 128, start_method: str | None = None, spin_us: float = 0.0,
                 timeout: float | None = 60.0) -> None:
        """Args:
            env_creator: a callable returning a Gymnasium env or a PettingZoo ``ParallelEnv``
                (or a list of ``num_envs`` of them); with ``start_method`` other than ``fork``
                it is sent with cloudpickle, so lambdas work everywhere.
            num_envs: env instances; must be a multiple of ``num_workers``.
            num_workers: processes (default: the largest divisor of ``num_envs`` not above the
                CPU count). Each owns ``num_envs // num_workers`` consecutive envs.
            batch_size: env instances per ``recv()`` batch, a multiple of the envs per worker
                that divides ``num_envs`` (default: all, i.e. synchronous).
            seed: env ``i`` is reset with ``seed + i`` on the first reset (None: unseeded).
            log_interval: steps between episode statistics in ``step``'s infos; 0 disables.
            start_method: ``fork`` (default where available: no pickling, fast start),
                ``forkserver`` or ``spawn``.
            spin_us: how long the main process and the workers poll a shared counter before
                sleeping in a pipe read. 0 (default) always sleeps: on a machine with fewer free
                cores than workers + 1, spinning steals time from the envs (see the benchmark).
            timeout: seconds a worker may take for one command (building its envs, a reset, a
                step of all its envs, a render), counted from when the command was sent; past
                it the worker is killed and ``WorkerTimeout`` raised. None: wait forever. The
                wait is a ``poll`` on the worker's pipe with this deadline, so it costs no CPU.

        Raises:
            ValueError: bad sizes or timeout. WorkerError: an env failed to build in a worker
                (``WorkerTimeout``: it took longer than ``timeout``).
        """
        self.closed = True  # until built: a failed __init__ must not run close()
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs: must be an integer >= 1, got {num_envs!r}")
        num_envs = int(num_envs)
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"timeout: must be a number of seconds > 0 or None (no limit), got {timeout!r}")
        self.timeout = None if timeout is None or timeout == float("inf") else float(timeout)
        num_workers = _default_workers(num_envs) if num_workers is None else int(num_workers)
        if num_workers < 1 or num_envs % num_workers:
            raise ValueError(f"num_workers: must divide num_envs ({num_envs}), got {num_workers}")
        if start_method is None:
            start_method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(start_method)
        creators = creators_for(env_creator, num_envs)

        probe = make_adapter(creators[0])  # spaces decide the buffer sizes
        obs_layout, act_layout = probe.observation_layout, probe.action_layout
        agents, name, mask_width = probe.num_agents, probe.name, probe.mask_width
        probe.close()
        rows = num_envs * agents
        specs = buffer_specs(rows, obs_layout, act_layout, mask_width)
        specs = specs + _extras(num_envs, num_workers)
        offsets, nbytes = _layout(specs)
        self._raw = ctx.RawArray(ctypes.c_uint8, nbytes)  # an unlinked file: no /dev/shm name
        buffers, self._stats, self._flags = _views(self._raw, specs, offsets)
        self._spin = float(spin_us) * 1e-6
        self._statuses = [0] * num_workers  # statuses read per worker
        # per worker, for a hang report: when its running command was sent, what it is, and
        # how many steps it was sent since the last reset
        self._sent_at = [time.monotonic()] * num_workers
        self._doing = ["creation"] * num_workers
        self._unit_steps = [0] * num_workers

        per = num_envs // num_workers
        self.num_workers = num_workers
        self._processes: list = []
        self._cmd: list = []
        self._res: list = []
        self._finalizer = weakref.finalize(self, _shutdown, self._processes, self._cmd, self._res)
        try:
            for w in range(num_workers):
                cmd_r, cmd_w = ctx.Pipe(duplex=False)
                res_r, res_w = ctx.Pipe(duplex=False)
                mine = creators[w * per:(w + 1) * per]
                if start_method == "fork":
                    # the child must drop the parent's ends, its own included, or no EOF ever comes
                    payload, foreign = mine, self._cmd + self._res + [cmd_w, res_r]
                else:
                    import cloudpickle

                    payload, foreign = cloudpickle.dumps(mine), []
                p = ctx.Process(target=_worker, name=f"sailfish-{name}-worker-{w}", daemon=True,
                                args=(w, payload, w * per, self._raw, specs, offsets, agents, self._spin,
                                      cmd_r, res_w, foreign))
                p.start()
                self._sent_at[w] = time.monotonic()
                cmd_r.close()
                res_w.close()
                self._processes.append(p)
                self._cmd.append(cmd_w)
                self._res.append(res_r)
            self._pids = [p.pid for p in self._processes]
            self._cmd_fds = [c.fileno() for c in self._cmd]
            self._res_fds = [c.fileno() for c in self._res]
            self._pollers = []
            for w, p in enumerate(self._processes):
                poller = select.poll()
                poller.register(self._res_fds[w], select.POLLIN)
                poller.register(p.sentinel, select.POLLIN)
                self._pollers.append(poller)
            self.name = name
            self._envs_per_worker = per
            self._wait(range(num_workers))  # every worker built its envs
        except BaseException:
            self._finalizer()
            raise
        self._setup(name=name, obs_layout=obs_layout, act_layout=act_layout, agents_per_env=agents,
                    num_instances=num_envs, num_units=num_workers, batch_size=batch_size, seed=seed,
                    log_interval=log_interval, buffers=buffers)
        self.closed = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers (for tools and tests)."""
        return list(self._pids)

    def _launch(self, units: range, command: str, seeds: list | None = None) -> None:
        fds, flags, sent_at, steps = self._cmd_fds, self._flags, self._sent_at, self._unit_steps
        now = time.monotonic()
        try:
            if command == "step":
                for w in units:
                    os.write(fds[w], STEP)
                    flags[w, 0] += 1
                    sent_at[w], steps[w] = now, steps[w] + 1
                    self._doing[w] = "step"
            else:
                per = self._envs_per_worker
                for w in units:
                    _send(fds[w], RESET, seeds[w * per:(w + 1) * per])
                    flags[w, 0] += 1
                    sent_at[w], steps[w] = now, 0
                    self._doing[w] = "reset"
        except OSError:
            self._wait(units)  # a worker is gone: _wait reports how
            raise

    def _wait(self, units: range) -> None:
        for w in units:
            status = self._status(w)
            if status == ERROR:
                self._fail(_read_payload(self._res_fds[w]))

    def _status(self, w: int) -> bytes:
        fd = self._res_fds[w]
        self._statuses[w] += 1
        if self._spin:
            end = time.perf_counter() + self._spin
            flags, seen = self._flags, self._statuses[w]
            while flags[w, 1] < seen and time.perf_counter() < end:
                pass
        timeout = self.timeout
        while True:
            if timeout is None:
                events = dict(self._pollers[w].poll())
            else:
                left = self._sent_at[w] + timeout - time.monotonic()
                events = dict(self._pollers[w].poll(max(0, math.ceil(left * 1000))))
                if not events:
                    if left > 0:
                        continue  # poll's millisecond rounding: wait out the rest
                    self._hang(w)
            if fd in events:
                try:
                    status = os.read(fd, 1)
                except OSError:
                    status = b""
                if status:
                    return status
            if events:  # sentinel ready or pipe closed: the worker is gone
                self._fail(self._death(w))

    def _hang(self, w: int) -> None:
        """Kills worker ``w``, whose command ran past the timeout, stops the rest, and raises."""
        p, doing = self._processes[w], self._doing[w]
        env = int(self._flags[w, 2])
        try:
            os.kill(p.pid, signal.SIGKILL)  # it is stuck: a close command would never be read
        except ProcessLookupError:
            pass
        p.join(5.0)
        stage = f"step {self._unit_steps[w]}" if doing == "step" else doing
        self.closed = True
        self._finalizer()
        raise WorkerTimeout(f"worker {w} (env {env}, {self.name!r}): {stage} did not finish within "
                            f"{self.timeout:g} s; the worker was killed and the other workers stopped")

    def _death(self, w: int) -> str:
        p = self._processes[w]
        p.join(1.0)
        code = p.exitcode
        if code is not None and code < 0:
            how = f"was killed by signal {signal.Signals(-code).name}"
        elif code is not None:
            how = f"exited with code {code}"
        else:
            how = "closed its pipe but is still running"
        per = self._envs_per_worker
        return (f"worker {w} (pid {p.pid}, envs {w * per}..{(w + 1) * per - 1} of {self.name}) {how}; "
                f"its envs' state is lost")

    def _fail(self, message: str) -> None:
        self.closed = True
        self._finalizer()
        raise WorkerError(f"sailfish.vector.Multiprocessing: {message}\nAll workers were stopped; "
                          "create the vector env again to continue.")

    def _unit_totals(self, unit: int) -> np.ndarray:
        per = self._envs_per_worker
        return self._stats[unit * per:(unit + 1) * per].sum(0)

    def _units_totals(self, units: range) -> np.ndarray:
        per = self._envs_per_worker
        stats = self._stats[units.start * per:units.stop * per]
        return stats.reshape(len(units), per, stats.shape[-1]).sum(1)

    def _render(self, index: int) -> np.ndarray:
        w, local = divmod(index, self._envs_per_worker)
        _send(self._cmd_fds[w], RENDER, local)
        self._flags[w, 0] += 1
        self._sent_at[w], self._doing[w] = time.monotonic(), "render"
        status = self._status(w)
        payload = _read_payload(self._res_fds[w])
        if status == ERROR:
            self._fail(payload)
        return payload

    def _shutdown(self) -> None:
        self._finalizer()
