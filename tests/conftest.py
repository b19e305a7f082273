"""Shared test helpers."""
import pytest

from sailfish.cli import main


@pytest.fixture
def cli_error(capsys):
    """Runs ``sailfish <argv>`` expecting a usage error: exit status 2 and exactly one line on
    stderr, which it returns."""

    def run(argv):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        return err

    return run


# A small cartpole-sized run for the C learner kernels' tests (tests/test_fused_*.py): fp32 on one
# torch thread, where the kernels serve.
KERNEL_RUN = dict(num_envs=8, rollout_steps=32, bptt_horizon=16, minibatch_size=128, update_epochs=1, runs_dir="",
                  precision="fp32", torch_threads=1)


@pytest.fixture
def one_thread():
    """torch on one thread for the test (the C kernels' layout), restored after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
