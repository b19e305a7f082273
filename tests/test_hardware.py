"""Precision and thread count chosen from the hardware, never guessed."""
import ctypes
import subprocess
import sys

import pytest
import torch

import sailfish
from sailfish.train import Config, Trainer
from sailfish.train.hardware import THREADS_MIN_WORK, cpu_flags, resolve_precision, resolve_threads

CPU = torch.device("cpu")


def test_cpu_flags_are_read_from_cpuinfo_text():
    text = "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n"
    assert {"avx2", "avx512_bf16"} <= cpu_flags(text) and cpu_flags("no flags here") == set()


def test_auto_precision_is_bf16_only_with_native_bf16_and_says_why():
    dtype, why = resolve_precision("auto", CPU, {"avx2", "amx_bf16"})
    assert dtype == torch.bfloat16 and "amx_bf16" in why
    dtype, why = resolve_precision("auto", CPU, {"avx2", "avx512f"})
    assert dtype is None and why.startswith("fp32") and "avx512_bf16" in why
    assert resolve_precision("fp32", CPU, {"amx_bf16"})[0] is None
    dtype, why = resolve_precision("bf16", CPU, {"avx2"})
    assert dtype == torch.bfloat16 and "emulated" in why


def test_auto_threads_split_big_updates_only():
    assert resolve_threads(0, 1024, 64, cores=2)[0] == 1          # cartpole's update
    assert resolve_threads(0, 8192, 128, cores=2)[0] == 2         # breakout's update
    assert 8192 * 128 ** 2 >= THREADS_MIN_WORK > 1024 * 64 ** 2
    assert resolve_threads(3, 1024, 64, cores=2) == (3, "asked for")


def test_workers_sharing_the_cores_keep_the_size_rule_over_their_share():
    # an ablation or sweep with 2 workers on 8 cores gives each torch_threads = -4
    assert resolve_threads(-4, 1024, 64, cores=8)[0] == 1          # a small policy: still one thread
    assert resolve_threads(-4, 8192, 128, cores=8)[0] == 4         # a big one: its share, not all 8
    assert Config(torch_threads=-4).torch_threads == -4             # accepted by the config check


def test_bf16_keeps_parameters_optimizer_state_and_losses_fp32_and_still_learns():
    config = Config.load("cartpole", {"runs_dir": "", "precision": "bf16", "total_steps": 30_000})
    trainer = Trainer(sailfish.make("cartpole", num_envs=config.num_envs, seed=0), config=config)
    trainer.run()
    assert all(p.dtype == torch.float32 for p in trainer.policy.parameters())
    assert all(m.dtype == torch.float32 for m in trainer.optimizer.exp_avg + trainer.optimizer.exp_avg_sq)
    assert trainer.experience.values.dtype == trainer.experience.advantages.dtype == torch.float32
    assert trainer.last_update.terms.dtype == torch.float32
    assert trainer.episodes.mean("episode_return") > 60  # random play: ~22


MMAPPED_BLOCKS = """
import ctypes, sys
import torch
from sailfish.train.hardware import keep_freed_memory

class Info(ctypes.Structure):  # glibc's struct mallinfo2: hblks is its 5th field
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
if sys.argv[1] == "keep":
    assert keep_freed_memory()
before = libc.mallinfo2().hblks
block = torch.empty(2 * 2**20)  # 8 MB: a size this process has not freed before
print(libc.mallinfo2().hblks - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2"),
                    reason="glibc >= 2.33 only (mallinfo2)")
@pytest.mark.parametrize("mode", ["keep", "default"])
def test_kept_memory_serves_megabyte_blocks_from_the_heap_instead_of_new_mappings(mode):
    # By default glibc maps a new 8 MB block on its own (and unmaps it when freed, so its pages fault
    # in afresh at every update); after keep_freed_memory() it comes from the reusable heap.
    out = subprocess.run([sys.executable, "-c", MMAPPED_BLOCKS, mode], capture_output=True, text=True, check=True)
    assert int(out.stdout) == (0 if mode == "keep" else 1)
