"""Dashboard and plain progress render the trainer's metrics; the trainer itself prints nothing."""
import io

import sailfish
from sailfish.train import Config, Trainer
from sailfish.ui import Dashboard, PlainProgress, make_dashboard


def run_with(logger, capsys=None):
    config = Config.load("cartpole", {"runs_dir": "", "total_steps": 4096, "num_envs": 8, "rollout_steps": 32,
                                      "minibatch_size": 256, "log_seconds": 0})
    env = sailfish.make("cartpole", num_envs=8, seed=0, log_interval=0)
    Trainer(env, config=config, logger=logger).run()


def test_plain_progress_prints_one_line_with_steps_sps_and_time_split():
    stream = io.StringIO()
    run_with(PlainProgress("cartpole", 4096, interval=0.0, stream=stream))
    lines = [line for line in stream.getvalue().splitlines() if line.startswith("[cartpole]")]
    assert lines and "step 4096/4096 (100%)" in lines[-1]
    assert "SPS" in lines[-1] and "learn" in lines[-1] and "ETA" in lines[-1]


def test_dashboard_renders_losses_episodes_and_time_split():
    stream = io.StringIO()
    run_with(Dashboard("cartpole", 4096, stream=stream, width=140))
    text = stream.getvalue()
    for needle in ("SPS", "approx_kl", "explained_variance", "return", "forward", "learn", "ETA"):
        assert needle in text


def test_non_tty_stream_gets_plain_progress():
    assert isinstance(make_dashboard("cartpole", 10, stream=io.StringIO()), PlainProgress)


def test_trainer_without_logger_prints_nothing(capsys):
    run_with(None)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
