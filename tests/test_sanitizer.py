"""Builds every native env into a C driver under AddressSanitizer and UBSan and steps each one
1M times with random and edge-case actions (tests/native/fuzz_envs.c), under its default config
and the driver's VARIANTS (connect4's self-play and scripted-opponent modes, pong's two paddles,
snake's arenas). Any report fails."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NATIVE = ROOT / "sailfish" / "_native"
SANITIZE = ["-O1", "-g", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_every_env_survives_a_million_sanitized_steps(tmp_path):
    exe = tmp_path / "fuzz_envs"
    sources = [ROOT / "tests" / "native" / "fuzz_envs.c", NATIVE / "vecenv.c", NATIVE / "registry.c"]
    subprocess.run(["gcc", *SANITIZE, f"-I{NATIVE}", *map(str, sources), "-o", str(exe), "-pthread", "-lm"],
                   check=True, capture_output=True, text=True)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1", UBSAN_OPTIONS="print_stacktrace=1")
    result = subprocess.run([str(exe), "1000000"], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "runtime error" not in result.stderr and "Sanitizer" not in result.stderr, result.stderr
    from sailfish import _native
    steps = {line.split()[0]: int(line.split("agent_steps=")[1].split()[0])
             for line in result.stdout.splitlines() if "threads=1 " in line}
    assert {label.split("[")[0] for label in steps} == set(_native.names()), result.stdout
    assert {"connect4[players=2]", "connect4[opponent=1,opponent_depth=2]", "connect4[opponent=2]", "pong[players=2]",
            "snake[horizon=64]"} <= set(steps)
    assert all(n >= 1_000_000 for n in steps.values()), steps


def run_sanitized_driver(tmp_path, driver: str, sources=(), timeout: float = 120) -> str:
    """Build ``tests/native/<driver>.c`` (with ``sources`` of the C core) under ASan and UBSan, run it,
    and return what it printed after "ok " (it prints that and exits 0, else names the broken rule)."""
    exe = tmp_path / driver
    files = [ROOT / "tests" / "native" / f"{driver}.c", *(NATIVE / name for name in sources)]
    subprocess.run(["gcc", *SANITIZE, f"-I{NATIVE}", *map(str, files), "-o", str(exe), "-lm"], check=True,
                   capture_output=True, text=True)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1", UBSAN_OPTIONS="print_stacktrace=1")
    result = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=timeout)
    assert result.returncode == 0 and result.stdout.startswith("ok "), result.stdout + result.stderr
    assert "runtime error" not in result.stderr and "Sanitizer" not in result.stderr, result.stderr
    return result.stdout[3:].strip()


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_the_advantage_kernel_is_sanitizer_clean(tmp_path):
    # every small shape, with and without padding masks (tests/native/advantage_check.c)
    run_sanitized_driver(tmp_path, "advantage_check", ["advantage.c"])


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_connect4s_per_row_bots_follow_their_rules_sanitizer_clean(tmp_path):
    # what sailfish._native.connect4_bot_actions runs per row (tests/native/connect4_bot_check.c)
    positions = run_sanitized_driver(tmp_path, "connect4_bot_check", timeout=300)
    assert int(positions) > 30_000


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_the_activation_kernels_are_accurate_and_sanitizer_clean(tmp_path):
    # tanh and its backward over every length up to 257 (tests/native/activations_check.c)
    run_sanitized_driver(tmp_path, "activations_check", ["activations.c"])


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_the_fused_mlp_kernel_is_exact_to_float_rounding_and_sanitizer_clean(tmp_path):
    # forward and backward of several widths and row counts against double precision (tests/native/mlp_check.c)
    networks = run_sanitized_driver(tmp_path, "mlp_check", ["mlp.c", "activations.c"])
    assert int(networks) == 108


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_the_ppo_minibatch_gradient_is_sanitizer_clean(tmp_path):
    # against mlp.h's forward, the PPO loss's gradient in double, mlp.h's backward (tests/native/ppo_gradient_check.c)
    cases = run_sanitized_driver(tmp_path, "ppo_gradient_check", ["ppo_gradient.c", "mlp.c", "activations.c"])
    assert int(cases) == 288


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_the_categorical_kernels_are_exact_to_float_rounding_and_sanitizer_clean(tmp_path):
    # log-probabilities, entropies and their gradient, packed and strided rows (tests/native/categorical_check.c)
    rows = run_sanitized_driver(tmp_path, "categorical_check", ["categorical.c"])
    assert int(rows) == 1800


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_the_rollout_step_samples_as_gumbel_max_and_is_sanitizer_clean(tmp_path):
    # members, rows across the block, masks with one or no legal action (tests/native/actor_check.c)
    rows = run_sanitized_driver(tmp_path, "actor_check", ["actor.c", "categorical.c", "mlp.c", "activations.c"])
    assert int(rows) == 22536
