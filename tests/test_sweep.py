"""`sailfish sweep` end to end on real runs (cartpole, 20k-40k steps per trial), resume after SIGKILL,
failed trials, and bad input."""
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
from sailfish.sweep.runner import Diverged, _Probe
from sailfish.sweep.space import load_space
from sailfish.sweep.study import counts

SPACE = """
[sweep.total_steps]
distribution = "log"
min = {lo}
max = {hi}
[sweep.lr]
distribution = "log"
min = 2e-3
max = 1e-2
[sweep.num_envs]
distribution = "pow2"
min = 16
max = 32
"""


def space(tmp_path, lo=20000, hi=40000) -> str:
    path = tmp_path / f"space-{lo}.toml"
    path.write_text(SPACE.format(lo=lo, hi=hi))
    return str(path)


def load(tmp_path, study):
    return optuna.load_study(study_name=study, storage=f"sqlite:///{tmp_path}/sweeps/{study}.db")


def test_sweep_runs_its_trials_and_reports_the_front(tmp_path, capsys):
    argv = ["sweep", "cartpole", "--trials", "3", "--study", "s", "--runs-dir", str(tmp_path),
            "--space", space(tmp_path), "--heartbeat", "1"]
    assert main(argv) == 0
    study = load(tmp_path, "s")
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    for t in trials:
        score, seconds = t.values
        assert score > 9 and 0 < seconds < 60
        assert 20000 <= t.params["total_steps"] <= 40000 and t.user_attrs[("num_envs")] in (16, 32)
        assert len(t.user_attrs["curve"]) >= 2 and Path(t.user_attrs["run_dir"], "metrics.csv").exists()
    capsys.readouterr()
    assert main(["sweep", "cartpole", "--report", "--study", "s", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out and "3 complete" in out
    assert (tmp_path / "sweeps" / "s" / "score_vs_wallclock.png").stat().st_size > 10_000


def test_a_trial_that_fails_is_recorded_with_its_error_and_the_sweep_goes_on(tmp_path):
    # 2 or 4 envs x 64 rollout steps is a smaller batch than the 1024-sample minibatch: every trial's
    # config is refused
    tiny = tmp_path / "tiny.toml"
    tiny.write_text('[sweep.num_envs]\ndistribution = "pow2"\nmin = 2\nmax = 4\n')
    argv = ["sweep", "cartpole", "--trials", "2", "--study", "f", "--runs-dir", str(tmp_path), "--space", str(tiny)]
    assert main(argv) == 0
    trials = load(tmp_path, "f").get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]
    assert all("minibatch_size: must divide the batch" in t.user_attrs["error"] for t in trials)


def test_a_nan_loss_stops_the_run_as_diverged():
    probe = _Probe("episode/return", None)
    probe.log({"elapsed_s": 0.1, "episode/return": 20.0, "losses/value_loss": 1.0}, 1024)
    with pytest.raises(Diverged, match="losses/policy_loss is nan"):
        probe.log({"elapsed_s": 0.2, "episode/return": 20.0, "losses/policy_loss": math.nan}, 2048)


def _second_trial_is_running_with_a_heartbeat(db: Path) -> bool:
    """Trial 0 complete and trial 1 running with at least one heartbeat in the study's SQLite file.

    The heartbeat matters: Optuna fails a dead worker's trial only from its last heartbeat, and a
    trial killed before its first one (between ``ask`` and the heartbeat thread's first write) stays
    RUNNING for ever. The heartbeats table is read directly because Optuna has no public call for it.
    """
    if not db.exists():
        return False
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as con:
            states = [row[0] for row in con.execute("SELECT state FROM trials ORDER BY number")]
            beating = con.execute("SELECT COUNT(*) FROM trial_heartbeats h JOIN trials t ON h.trial_id = t.trial_id "
                                  "WHERE t.number = 1").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not created yet, or the file is locked
        return False
    return states == ["COMPLETE", "RUNNING"] and beating > 0


def test_a_sweep_killed_mid_trial_resumes_and_finishes_its_trial_count(tmp_path):
    cmd = [sys.executable, "-m", "sailfish", "sweep", "cartpole", "--trials", "3", "--study", "k",
           "--runs-dir", str(tmp_path), "--space", space(tmp_path, 60000, 80000), "--heartbeat", "1", "--no-prune"]
    log = tmp_path / "sweep.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        # wait on the event, not a guess of its time: the first trial done, the second started
        deadline = time.monotonic() + 120
        while not _second_trial_is_running_with_a_heartbeat(tmp_path / "sweeps" / "k.db"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the sweep never had trial 0 complete and trial 1 running with a heartbeat "
                            f"(exit status {proc.poll()}, within 120 s); its output:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    study = load(tmp_path, "k")
    assert [t.state.name for t in study.get_trials()] == ["COMPLETE", "RUNNING"]

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    trials = load(tmp_path, "k").get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert "failed on resume" in done.stdout  # the report explains the dead trial
    assert counts(load(tmp_path, "k")) == (3, 0)


def test_an_unreachable_storage_url_is_one_line_naming_the_fix(capsys, tmp_path, cli_error):
    err = cli_error(["sweep", "cartpole", "--trials", "2", "--runs-dir", str(tmp_path), "--storage",
                          "postgresql+psycopg2://nobody:secret@127.0.0.1:1/none"])
    assert "cannot open the database" in err and "check the URL" in err and "secret" not in err
    err = cli_error(["sweep", "cartpole", "--trials", "2", "--storage", "not a url"])
    assert "not a database URL" in err


def test_bad_sweep_input_is_one_line(capsys, tmp_path, cli_error):
    assert "lrr: unknown config key (did you mean 'lr'?)" in cli_error(
        ["sweep", "cartpole", "--trials", "2", "--set", "lrr=1e-3"])
    assert "lr: must be a number" in cli_error(["sweep", "cartpole", "--trials", "2", "--set", "lr=fast"])
    bad = tmp_path / "bad.toml"
    bad.write_text('[sweep.lr]\ndistribution = "pow2"\nmin = 1\nmax = 4\n')
    assert "pow2 needs an integer key" in cli_error(["sweep", "cartpole", "--trials", "2", "--space", str(bad)])
    assert "--trials: required" in cli_error(["sweep", "cartpole"])


def test_cartpole_search_space_covers_total_steps():
    space = load_space("cartpole")
    assert space["total_steps"].distribution == "log" and space["lr"].distribution == "log"
    assert space["num_envs"].distribution == "pow2"
