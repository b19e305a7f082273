"""Two sweep workers in separate processes share one study through a real PostgreSQL server.

Start one with `eval "$(.ci/postgres.sh)"`, which sets SAILFISH_TEST_POSTGRES_URL.
"""
import os
import subprocess
import sys
import uuid

import optuna
import pytest

URL = os.environ.get("SAILFISH_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="SAILFISH_TEST_POSTGRES_URL is unset: start a throwaway "
                                                "server with `eval \"$(.ci/postgres.sh)\"`")

SPACE = """
[sweep.total_steps]
distribution = "log"
min = 20000
max = 40000
[sweep.lr]
distribution = "log"
min = 2e-3
max = 1e-2
"""


def test_two_workers_on_one_postgres_study_record_every_trial_once(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text(SPACE)
    study = f"pg-{uuid.uuid4().hex[:8]}"
    trials = 6
    cmd = [sys.executable, "-m", "sailfish", "sweep", "cartpole", "--trials", str(trials), "--study", study,
           "--storage", URL, "--runs-dir", str(tmp_path), "--space", str(space), "--heartbeat", "1"]
    workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=180)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    recorded = optuna.load_study(study_name=study, storage=URL).get_trials()
    counted = [t for t in recorded if not t.user_attrs.get("surplus")]
    assert len(counted) == trials
    assert sorted(t.number for t in recorded) == list(range(len(recorded)))
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in counted), [t.user_attrs for t in counted]
    run_dirs = [t.user_attrs["run_dir"] for t in counted if t.state.name == "COMPLETE"]
    assert len(set(run_dirs)) == len(run_dirs)
    on_disk = sorted(p.name for p in (tmp_path / "sweeps" / study).glob("trial*"))
    assert on_disk == sorted(f"trial{t.number:04d}" for t in counted)
    assert len({t.user_attrs["worker"] for t in counted}) == 2  # both processes ran trials


def test_two_population_workers_on_one_postgres_study_each_train_their_own_trials(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('[sweep.lr]\ndistribution = "log"\nmin = 2e-3\nmax = 1e-2\n'
                     '[sweep.gamma]\ndistribution = "uniform"\nmin = 0.95\nmax = 0.99\n')
    study = f"pgpop-{uuid.uuid4().hex[:8]}"
    cmd = [sys.executable, "-m", "sailfish", "sweep", "cartpole", "--trials", "4", "--population", "2",
           "--study", study, "--storage", URL, "--runs-dir", str(tmp_path), "--space", str(space), "--heartbeat", "1",
           "--set", "total_steps=10000", "--set", "update_epochs=2", "--set", "torch_threads=1"]
    workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    recorded = optuna.load_study(study_name=study, storage=URL).get_trials()
    counted = [t for t in recorded if not t.user_attrs.get("surplus")]
    assert len(counted) == 4 and all(t.state.name == "COMPLETE" for t in counted), [t.user_attrs for t in recorded]
    by_number = {t.number: t for t in counted}
    for t in counted:  # a population is one worker's: its members were asked and told by that process
        members = [by_number[n] for n in t.user_attrs["population"]]
        assert {m.user_attrs["worker"] for m in members} == {t.user_attrs["worker"]}
    assert len({t.user_attrs["run_dir"] for t in counted}) == 4
