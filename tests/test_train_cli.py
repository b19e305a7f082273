"""`sailfish train` / `sailfish eval`: bad input gives one line on stderr and exit status 2; a tiny run works."""
import importlib.util
import subprocess
import sys

import pytest


def _cli_has_train() -> bool:
    if importlib.util.find_spec("sailfish.cli") is None:
        return False
    import sailfish.cli
    return {"train", "eval"} <= set(getattr(sailfish.cli, "SUBCOMMANDS", ()))


# The real entry point once sailfish.cli registers train/eval; until then the same wiring it does.
if _cli_has_train():
    LAUNCH = "import sys; from sailfish.cli import main; sys.argv[0] = 'sailfish'; sys.exit(main())"
else:
    LAUNCH = """
import argparse, sys
from sailfish.commands import eval as eval_cmd, train
parser = argparse.ArgumentParser(prog="sailfish")
sub = parser.add_subparsers(dest="command", required=True)
train.add_parser(sub)
eval_cmd.add_parser(sub)
args = parser.parse_args()
sys.exit(args.run(args))
"""


def sailfish(*argv, cwd=None):
    return subprocess.run([sys.executable, "-c", LAUNCH, *argv], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("argv,needle", [
    (["train", "cartpole", "--lr", "-1"], "lr: must be > 0"),
    (["train", "cartpole", "--lr", "fast"], "lr: must be a number"),
    (["train", "cartpole", "--total-steps", "2.5"], "total_steps: must be an integer"),
    (["train", "cartpole", "--lrr", "3"], "unrecognized argument --lrr (did you mean --lr?)"),
    (["train", "no-such-env"], "unknown environment 'no-such-env'"),
    (["train", "cartpole", "--resume", "/nonexistent/run"], "--resume"),
    (["train"], "required"),
    (["eval", "cartpole", "/nonexistent/run"], "no such run directory or checkpoint file"),
    (["eval", "cartpole", ".", "--episodes", "0"], "expected a positive integer"),
])
def test_bad_cli_input_gives_one_line_error_and_status_2(argv, needle, tmp_path):
    out = sailfish(*argv, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert needle in lines[0] and "Traceback" not in out.stderr


def test_train_then_eval_with_gif(tmp_path):
    out = sailfish("train", "cartpole", "--total-steps", "2048", "--num-envs", "8", "--rollout-steps", "32",
                   "--minibatch-size", "256", "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "[cartpole] step" in out.stdout  # not a TTY: plain progress lines
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "config.toml").exists() and (run_dir / "metrics.csv").exists()
    out = sailfish("eval", "cartpole", str(run_dir), "--episodes", "2", "--gif", str(tmp_path / "out.gif"),
                   cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2 episodes" in out.stdout
    from PIL import Image
    with Image.open(tmp_path / "out.gif") as gif:
        assert gif.n_frames > 1


def test_train_resume_continues_the_run(tmp_path):
    common = ["--num-envs", "8", "--rollout-steps", "32", "--minibatch-size", "256", "--runs-dir",
              str(tmp_path / "runs"), "--checkpoint-interval", "1"]
    assert sailfish("train", "cartpole", "--total-steps", "512", *common, cwd=tmp_path).returncode == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    out = sailfish("train", "cartpole", "--resume", str(run_dir), "--total-steps", "1024", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    from sailfish.train.checkpoint import checkpoint_paths, load_checkpoint
    assert load_checkpoint(checkpoint_paths(run_dir)[-1])["global_step"] == 1024


def test_train_takes_a_bare_gymnasium_id_and_the_old_log_interval_flag(tmp_path):
    out = sailfish("train", "CartPole-v1", "--total-steps", "512", "--num-envs", "4", "--rollout-steps", "32",
                   "--minibatch-size", "64", "--log-interval", "0", "--quiet", "--runs-dir", str(tmp_path / "runs"),
                   cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "log_seconds" in out.stderr  # the old flag still works, with a warning naming the new one
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("CartPole-v1-") and (run_dir / "metrics.csv").exists()


def test_train_seeds_trains_a_population_prints_the_iqm_and_resumes(tmp_path):
    common = ["--num-envs", "8", "--rollout-steps", "32", "--minibatch-size", "256", "--quiet",
              "--runs-dir", str(tmp_path / "runs"), "--checkpoint-interval", "1"]
    out = sailfish("train", "cartpole", "--seeds", "3", "--total-steps", "512", *common, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[-4:-1]] == ["member 0 (seed 0)", "member 1 (seed 1)",
                                                            "member 2 (seed 2)"]
    assert lines[-1].startswith("IQM over 3 seeds:") and "95% CI" in lines[-1]
    (run_dir,) = (tmp_path / "runs").iterdir()
    out = sailfish("train", "cartpole", "--resume", str(run_dir), "--total-steps", "1024", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    from sailfish.train.checkpoint import checkpoint_paths, load_checkpoint
    assert all(load_checkpoint(checkpoint_paths(run_dir / f"member{k}")[-1])["global_step"] == 1024 for k in range(3))
