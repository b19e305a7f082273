"""What the learner runs on: matmul precision and torch's thread count, chosen from the hardware.

- ``precision = "auto"``: bf16 matmuls (``torch.autocast``) where the hardware has native bf16 (CPU:
  the ``avx512_bf16`` or ``amx_bf16`` flag in ``/proc/cpuinfo``, never guessed from a model name;
  CUDA: ``torch.cuda.is_bf16_supported()``), fp32 elsewhere. Parameters, optimizer state,
  advantages, returns and loss reductions stay fp32 whatever the setting.
- ``torch_threads = 0`` ("auto"): every core for a policy whose update matmuls are big enough to
  split (``minibatch_size x hidden_size^2 >= THREADS_MIN_WORK``), one thread for the small ones,
  where per-op overhead, not arithmetic, is the cost and a second thread only adds hand-offs.
  ``torch_threads = -n``: the same rule over n cores, for processes that share the machine
  (ablation and sweep workers): a small policy still gets one thread, a big one n.
- ``keep_freed_memory()``: glibc's malloc hands large freed blocks back to the kernel, so every
  update's activations (a population's are megabytes each) come back as fresh pages that fault in
  one by one; keeping them for reuse made a cartpole population of 10 train 12-26% faster (BENCHMARKS.md,
  session 6).
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from typing import Callable, ContextManager

import torch

# minibatch_size x hidden_size^2 from which a second thread pays (benchmarks/learner.py): cartpole's
# 1024 x 64^2 = 4.2M runs faster on one thread, breakout's 8192 x 128^2 = 134M on two.
THREADS_MIN_WORK = 32 * 2**20


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags of ``/proc/cpuinfo`` (or of the text given); empty where there is none."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def resolve_precision(setting: str, device: torch.device, flags: set[str] | None = None
                      ) -> tuple[torch.dtype | None, str]:
    """``(autocast dtype or None for fp32, why)`` for ``Config.precision`` on ``device``."""
    if setting == "fp32":
        return None, "fp32 (asked for)"
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
        why = "the GPU supports bf16" if native else "the GPU has no bf16"
    else:
        flags = cpu_flags() if flags is None else flags
        found = sorted(flags & {"avx512_bf16", "amx_bf16"})
        native = bool(found)
        why = f"the CPU has {', '.join(found)}" if native else "no avx512_bf16 or amx_bf16 in the CPU flags"
    if setting == "bf16":
        return torch.bfloat16, "bf16 (asked for" + ("" if native else "; emulated: " + why) + ")"
    return (torch.bfloat16, f"bf16 matmuls ({why})") if native else (None, f"fp32 ({why})")


def autocast(dtype: torch.dtype | None, device: torch.device) -> Callable[[], ContextManager]:
    """A factory of the context the policy's forward passes run in (a no-op for fp32)."""
    if dtype is None:
        return contextlib.nullcontext
    return lambda: torch.autocast(device.type, dtype=dtype)


# glibc mallopt() parameters (malloc.h) and the values keep_freed_memory sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest: blocks above it (replay buffers, frames) still get their own mapping
TRIM_THRESHOLD = 256 * 2**20  # free memory at the heap's top kept for reuse before any goes back
_kept = False


def keep_freed_memory() -> bool:
    """Make glibc's malloc reuse freed blocks of up to 32 MB instead of unmapping them (process-wide,
    once; a no-op returning False where the C library is not glibc). Returns whether it is in effect.

    What it costs: the process keeps up to 256 MB of freed memory at the top of its heap (and the
    freed blocks between) mapped for reuse, rather than handing them back to the system.
    """
    global _kept
    if _kept or not sys.platform.startswith("linux"):
        return _kept
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _kept = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _kept


def resolve_threads(setting: int, minibatch_size: int, hidden_size: int, cores: int | None = None) -> tuple[int, str]:
    """``(torch threads, why)`` for ``Config.torch_threads`` (0 = auto, see the module docstring)."""
    if setting > 0:
        return setting, "asked for"
    if setting < 0:
        cores = -setting
    elif cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    work = minibatch_size * hidden_size ** 2
    if work >= THREADS_MIN_WORK:
        return cores, f"minibatch x hidden^2 = {work / 2**20:.0f}M >= {THREADS_MIN_WORK / 2**20:.0f}M: {cores} cores"
    return 1, f"minibatch x hidden^2 = {work / 2**20:.1f}M < {THREADS_MIN_WORK / 2**20:.0f}M: one thread"
