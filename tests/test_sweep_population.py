"""`sailfish sweep --population K` on real runs (cartpole, 10k steps per member): K trials asked at
once and trained together, each told its own member's score; failed members, a killed worker."""
import csv
import math
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import optuna
import pytest

from sailfish.cli import main
from sailfish.loggers import CSVLogger
from sailfish.sweep.runner import Diverged, curve_from_csv
from sailfish.train.config import read_toml
from test_interrupt import SAILFISH_WITH_CTRL_C

PER_MEMBER_SPACE = """
[sweep.lr]
distribution = "log"
min = 2e-3
max = 1e-2
[sweep.gamma]
distribution = "uniform"
min = 0.95
max = 0.99
"""
# every member trains 10 updates of 2 epochs: enough finished episodes, a few seconds per population.
# One torch thread: on a 2-core machine shared with other jobs, two spin against them (8x slower here).
SMALL = ["--set", "total_steps=10000", "--set", "update_epochs=2", "--set", "torch_threads=1"]


def load(tmp_path, study):
    return optuna.load_study(study_name=study, storage=f"sqlite:///{tmp_path}/sweeps/{study}.db")


def last_row(run_dir) -> dict:
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))[-1]


def test_a_population_sweep_tells_each_trial_its_own_members_score(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text(PER_MEMBER_SPACE)
    argv = ["sweep", "cartpole", "--trials", "3", "--population", "3", "--study", "p", "--runs-dir", str(tmp_path),
            "--space", str(space), "--heartbeat", "1", *SMALL]
    assert main(argv) == 0
    trials = load(tmp_path, "p").get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    assert len({(t.params["lr"], t.params["gamma"]) for t in trials}) == 3
    run_dirs = [Path(t.user_attrs["run_dir"]) for t in trials]
    assert len(set(run_dirs)) == 3
    for t, run_dir in zip(trials, run_dirs):
        assert t.user_attrs["population"] == [0, 1, 2] and t.user_attrs["population_asked"] == 3
        assert run_dir.parent == tmp_path / "sweeps" / "p" / f"trial{t.number:04d}"
        saved = read_toml(run_dir / "config.toml")  # the member trained with its own suggestions
        assert (saved["lr"], saved["gamma"]) == (t.params["lr"], t.params["gamma"])
        score, seconds = t.values
        final = last_row(run_dir)
        assert score == float(final["episode/return"]) and score > 9  # random play: about 20
        assert int(final["step"]) == t.user_attrs["global_step"] >= 10000
        curve = t.user_attrs["curve"]
        assert len(curve) >= 2 and curve[-1][1:] == [int(final["step"]), score]
    # no member reached target_return (inf): each trained for its population's whole wallclock
    assert len({t.values[1] for t in trials}) == 1 and 0 < trials[0].values[1] < 300
    out = capsys.readouterr().out
    assert "training together (0 1 2)" in out
    assert "3 trials asked 3 at a time (--population), trained in populations of 3 x1" in out


def test_a_member_whose_config_is_refused_fails_while_the_others_train(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text('[sweep.gamma]\ndistribution = "uniform"\nmin = 0.9\nmax = 1.1\n'
                     '[sweep.num_envs]\ndistribution = "pow2"\nmin = 2\nmax = 16\n')
    (tmp_path / "sweeps").mkdir()
    study = optuna.create_study(study_name="m", storage=f"sqlite:///{tmp_path}/sweeps/m.db",
                                directions=["maximize", "minimize"])
    # what the sampler proposes, fixed so the test knows which trial breaks: gamma 1.05 is outside
    # [0, 1]; 2 envs x 64 rollout steps is a smaller batch than the 1024-sample minibatch
    for gamma, log2_num_envs in ((0.95, 4), (1.05, 4), (0.99, 4), (0.97, 1)):
        study.enqueue_trial({"gamma": gamma, "log2_num_envs": log2_num_envs})
    argv = ["sweep", "cartpole", "--trials", "4", "--population", "4", "--study", "m", "--runs-dir", str(tmp_path),
            "--space", str(space), "--heartbeat", "1", *SMALL]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "the search varies num_envs, which a population's members share" in out  # enqueued: as they are
    trials = load(tmp_path, "m").get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE", "FAIL"]
    assert "gamma: must be in [0, 1], got 1.05" in trials[1].user_attrs["error"]
    assert "minibatch_size: must divide the batch" in trials[3].user_attrs["error"]
    assert [t.user_attrs.get("population") for t in trials] == [[0, 2], None, [0, 2], [3]]
    for t in (trials[0], trials[2]):
        assert t.values[0] == float(last_row(t.user_attrs["run_dir"])["episode/return"])
    assert trials[0].values[0] != trials[2].values[0]  # gamma differs between the two members
    assert "4 trials asked 4 at a time (--population), trained in populations of 2 x1, 1 x1" in out
    assert "trial 1 failed" in out


def test_a_round_shares_its_first_trials_structural_suggestions_so_it_trains_as_one_population(tmp_path, capsys):
    # num_envs and hidden_size are structural: without sharing, 3 trials would almost never agree on both
    space = tmp_path / "space.toml"
    space.write_text(PER_MEMBER_SPACE + '[sweep.num_envs]\ndistribution = "pow2"\nmin = 16\nmax = 64\n'
                     '[sweep.hidden_size]\ndistribution = "pow2"\nmin = 32\nmax = 128\n')
    argv = ["sweep", "cartpole", "--trials", "6", "--population", "3", "--study", "s", "--runs-dir", str(tmp_path),
            "--space", str(space), "--heartbeat", "1", *SMALL]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "each round's first trial samples them and the others take its values" in out
    trials = load(tmp_path, "s").get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 6
    assert [t.user_attrs["population"] for t in trials] == [[0, 1, 2]] * 3 + [[3, 4, 5]] * 3
    for round_ in (trials[:3], trials[3:]):
        assert len({(t.params["log2_num_envs"], t.params["log2_hidden_size"]) for t in round_}) == 1
        assert len({t.params["lr"] for t in round_}) == 3  # the per-member keys are still searched
    # the study records the searched distributions, not the shared values as points
    assert trials[1].distributions["log2_num_envs"].low == 4 and trials[1].distributions["log2_num_envs"].high == 6
    assert not load(tmp_path, "s").get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert "6 trials asked 3 at a time (--population), trained in populations of 3 x2" in out


def _both_trials_training(db: Path, runs: Path) -> bool:
    """Two RUNNING trials, each with a heartbeat in the study's SQLite file (read directly: Optuna has
    no public call for heartbeats), and the population's first metrics rows written."""
    if not db.exists() or not list(runs.glob("trial0000/*/metrics.csv")):
        return False
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as con:
            states = [row[0] for row in con.execute("SELECT state FROM trials ORDER BY number")]
            beating = con.execute("SELECT COUNT(DISTINCT h.trial_id) FROM trial_heartbeats h "
                                  "JOIN trials t ON h.trial_id = t.trial_id WHERE t.state = 'RUNNING'").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not created yet, or the file is locked
        return False
    return states == ["RUNNING", "RUNNING"] and beating == 2


def long_population(tmp_path, study) -> list[str]:
    """A population of 2 trials that trains for minutes (a subprocess, to be stopped mid-way)."""
    space = tmp_path / "space.toml"
    space.write_text(PER_MEMBER_SPACE)
    return [*SAILFISH_WITH_CTRL_C, "sweep", "cartpole", "--trials", "2", "--population", "2",
            "--study", study, "--runs-dir", str(tmp_path), "--space", str(space), "--heartbeat", "1",
            "--set", "total_steps=5000000", "--set", "torch_threads=1"]


def test_a_worker_killed_mid_population_leaves_no_trial_running_for_ever(tmp_path):
    cmd = long_population(tmp_path, "k")
    log = tmp_path / "sweep.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _both_trials_training(tmp_path / "sweeps" / "k.db", tmp_path / "sweeps" / "k"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the population never trained with both trials beating (exit status {proc.poll()}, "
                            f"within 120 s); its output:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert [t.state.name for t in load(tmp_path, "k").get_trials()] == ["RUNNING", "RUNNING"]

    # the next worker fails both once their heartbeats are stale (3 s) and trains the rest of the count
    again = cmd[:cmd.index("--set")] + SMALL
    again[again.index("--trials") + 1] = "4"
    done = subprocess.run(again, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    trials = load(tmp_path, "k").get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    assert trials[2].user_attrs["population"] == [2, 3]
    assert done.stdout.count("failed on resume") == 2


def test_a_worker_interrupted_mid_population_fails_its_trials_at_once(tmp_path):
    cmd = long_population(tmp_path, "i")
    log = tmp_path / "sweep.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _both_trials_training(tmp_path / "sweeps" / "i.db", tmp_path / "sweeps" / "i"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            assert proc.wait(timeout=60) == 130
        except subprocess.TimeoutExpired:
            pytest.fail(f"the sweep did not stop within 60 s of SIGINT; its output:\n{log.read_text()[-2000:]}")
    finally:
        proc.kill()
    trials = load(tmp_path, "i").get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]  # told, not left to a stale heartbeat
    assert all("its worker stopped (Ctrl-C) before it finished" in t.user_attrs["error"] for t in trials)


def test_a_nan_loss_in_a_members_metrics_makes_it_diverged(tmp_path):
    logger = CSVLogger(tmp_path / "metrics.csv")
    logger.log({"elapsed_s": 0.5, "episode/return": 21.0, "losses/policy_loss": 0.1}, 1024)
    logger.log({"elapsed_s": 1.0, "episode/return": 30.0, "losses/policy_loss": 0.2}, 2048)
    assert curve_from_csv(str(tmp_path)) == [(0.5, 1024, 21.0), (1.0, 2048, 30.0)]
    logger.log({"elapsed_s": 1.5, "episode/return": 25.0, "losses/policy_loss": math.nan}, 3072)
    with pytest.raises(Diverged, match="losses/policy_loss is nan at step 3072"):
        curve_from_csv(str(tmp_path))


def test_population_below_one_is_one_line(cli_error):
    assert "--population: must be >= 1" in cli_error(["sweep", "cartpole", "--trials", "2", "--population", "0"])
