"""`sailfish ablate --storage` shared between worker processes (stand-ins for machines, each with its
own runs dir) through one Optuna study: in a SQLite file (always) and on a real PostgreSQL server
(`eval "$(bash .ci/postgres.sh)"` sets SAILFISH_TEST_POSTGRES_URL; skipped, saying so, without it)."""
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
import sqlalchemy

from sailfish.ablate import report
from sailfish.cli import main

POSTGRES = os.environ.get("SAILFISH_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    if request.param == "postgresql" and not POSTGRES:
        pytest.skip("SAILFISH_TEST_POSTGRES_URL is unset: start a throwaway server with "
                    "`eval \"$(bash .ci/postgres.sh)\"`")
    return POSTGRES if request.param == "postgresql" else f"sqlite:///{tmp_path / 'ablations.db'}"


def start_study(storage, tmp_path, seeds, total_steps):
    """Record the ablation (2 variants x ``seeds``) in the database and train nothing here (--workers 0)."""
    study = f"ab-{uuid.uuid4().hex[:8]}"
    assert main(["ablate", "cartpole", "--seeds", str(seeds), "--set", "lr=3e-3,5e-3", "--total-steps",
                 str(total_steps), "--storage", storage, "--study", study, "--heartbeat", "1", "--workers", "0",
                 "--runs-dir", str(tmp_path / "coordinator")]) == 0
    return study


def join(storage, study, runs_dir, log):
    cmd = [sys.executable, "-m", "sailfish", "ablate", "--join", "--storage", storage, "--study", study,
           "--workers", "1", "--runs-dir", str(runs_dir)]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)


def runs_of(storage, study):
    """The study's trials that are runs of the grid, and the others (surplus asks, never runs)."""
    trials = optuna.load_study(study_name=study, storage=storage).get_trials()
    runs = [t for t in trials if "variant" in t.user_attrs]
    return runs, [t for t in trials if "variant" not in t.user_attrs]


def seed_dirs(runs_dir, study):
    return sorted(p for p in (runs_dir / study).glob("*/seed*") if p.is_dir())


def check_third_machine_report(storage, study, tmp_path, worker_dirs):
    """A process with an empty runs dir writes the report from the database alone, and its numbers
    are those of the results the workers wrote to their own disks."""
    third = tmp_path / "third"
    done = subprocess.run([sys.executable, "-m", "sailfish", "ablate", "--report", "--storage", storage,
                           "--study", study, "--runs-dir", str(third)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list((third / study).glob("*/seed*"))  # it trained nothing
    on_disk = sorted((r for d in worker_dirs for r in report.load_results(d / study)),
                     key=lambda r: (r["variant"], f"seed{r['seed']}"))  # as one machine's sorted paths
    names = ["lr=3e-3", "lr=5e-3"]
    expected = report.summarize(on_disk, names, "lr=3e-3", {})
    got = list(csv.DictReader(open(third / study / "report.csv")))
    assert [r["variant"] for r in got] == names
    for want, row in zip(expected, got):
        for key in ("runs", "iqm", "iqm_ci_low", "iqm_ci_high", "p_improve", "p_improve_ci_low",
                    "p_improve_ci_high", "median_wallclock_s"):
            a, b = float(want[key]), float(row[key])
            assert (math.isnan(a) and math.isnan(b)) or a == b, (key, want, row)
    assert (third / study / "score_vs_wallclock.png").stat().st_size > 10_000  # curves from the database
    assert "Ran as: one run per trial of the Optuna study" in (third / study / "report.md").read_text()


def test_two_workers_share_one_ablation_and_run_every_run_exactly_once(storage, tmp_path):
    study = start_study(storage, tmp_path, seeds=4, total_steps=8000)
    dirs = [tmp_path / "machine_a", tmp_path / "machine_b"]
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(2)]
    workers = [join(storage, study, d, log) for d, log in zip(dirs, logs)]
    for w in workers:
        w.wait(timeout=300)
    outputs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert [w.returncode for w in workers] == [0, 0], outputs

    runs, others = runs_of(storage, study)
    assert len(runs) == 8 and all(t.state.name == "COMPLETE" for t in runs), [(t.number, t.state) for t in runs]
    cells = sorted((t.user_attrs["variant"], t.user_attrs["seed"]) for t in runs)
    assert cells == sorted((v, s) for v in ("lr=3e-3", "lr=5e-3") for s in range(4))
    assert all(t.params == {"variant": t.user_attrs["variant"], "seed": t.user_attrs["seed"]} for t in runs)
    assert all(t.user_attrs.get("surplus") for t in others)
    # every run directory exists once, on the machine whose worker claimed the trial
    found = [p for d in dirs for p in seed_dirs(d, study)]
    assert sorted((p.parent.name, int(p.name[4:])) for p in found) == cells
    assert all((p / "result.json").exists() and len(list(p.glob("cartpole-*"))) == 1 for p in found)
    for t in runs:
        assert (Path(t.user_attrs["run_dir"]) / "metrics.csv").exists()
        assert json.loads((Path(t.user_attrs["run_dir"]).parent / "result.json").read_text())["final_score"] == t.value
    assert len({t.user_attrs["worker"] for t in runs}) == 2  # both workers trained runs
    check_third_machine_report(storage, study, tmp_path, dirs)


def _running_with_heartbeat(storage, study, pid):
    """The number of a trial of ``study`` that worker ``pid`` holds RUNNING and has beaten for, else None.
    The heartbeat matters: Optuna fails a trial as stale only from its last heartbeat. The tables are
    read directly because Optuna has no public call for heartbeats."""
    query = sqlalchemy.text(
        "SELECT t.number FROM trials t JOIN studies s ON s.study_id = t.study_id "
        "JOIN trial_user_attributes a ON a.trial_id = t.trial_id AND a.key = 'worker' "
        "JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
        "WHERE s.study_name = :study AND t.state = 'RUNNING' AND a.value_json LIKE :pid")
    engine = sqlalchemy.create_engine(storage)
    try:
        with engine.connect() as con:
            row = con.execute(query, {"study": study, "pid": f'%:{pid}"'}).first()
    except sqlalchemy.exc.OperationalError:  # tables not made yet, or the SQLite file is locked
        return None
    finally:
        engine.dispose()
    return None if row is None else row[0]


def test_a_killed_workers_run_is_retried_and_finished_by_the_other(storage, tmp_path):
    study = start_study(storage, tmp_path, seeds=2, total_steps=30000)
    dirs = [tmp_path / "machine_a", tmp_path / "machine_b"]
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(2)]
    victim, survivor = [join(storage, study, d, log) for d, log in zip(dirs, logs)]
    try:
        deadline = time.monotonic() + 120
        while (killed := _running_with_heartbeat(storage, study, victim.pid)) is None:
            if victim.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker A never held a running trial with a heartbeat (exit status {victim.poll()}); "
                            f"its output:\n{(tmp_path / 'worker0.log').read_text()[-2000:]}")
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        survivor.wait(timeout=300)
    finally:
        victim.kill()
        survivor.kill()
    output = (tmp_path / "worker1.log").read_text()
    assert survivor.returncode == 0, output

    runs, _ = runs_of(storage, study)
    by_number = {t.number: t for t in runs}
    dead = by_number[killed]
    assert [t.number for t in runs if t.state.name == "FAIL"] == [killed]
    (retry,) = [t for t in runs if t.system_attrs.get("failed_trial") == killed]
    assert retry.state.name == "COMPLETE" and retry.user_attrs["worker"].endswith(f":{survivor.pid}")
    assert (retry.user_attrs["variant"], retry.user_attrs["seed"]) == (dead.user_attrs["variant"], dead.user_attrs["seed"])
    complete = sorted((t.user_attrs["variant"], t.user_attrs["seed"]) for t in runs if t.state.name == "COMPLETE")
    assert complete == sorted((v, s) for v in ("lr=3e-3", "lr=5e-3") for s in range(2))  # each run once
    cell = Path(dead.user_attrs["variant"]) / f"seed{dead.user_attrs['seed']}"
    assert not (dirs[0] / study / cell / "result.json").exists()  # the killed run never finished there
    assert (dirs[1] / study / cell / "result.json").exists()
    check_third_machine_report(storage, study, tmp_path, dirs)


def test_join_without_storage_is_one_line(cli_error):
    assert "--join: needs --storage URL" in cli_error(["ablate", "--join", "--study", "x"])


def test_join_of_an_unknown_study_is_one_line(tmp_path, cli_error):
    err = cli_error(["ablate", "--join", "--storage", f"sqlite:///{tmp_path / 'a.db'}", "--study", "nope"])
    assert "--study nope: no such study" in err and "sailfish ablate <env>" in err


CLAIM = """
import sys, warnings
import optuna
from sailfish.sweep.study import open_storage
optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.simplefilter("ignore")
study = optuna.load_study(study_name="claims", storage=open_storage(sys.argv[1]))
print(" ".join(str(study.ask().user_attrs.get("k", -1)) for _ in range(30)))
"""


def test_sqlite_storage_gives_each_waiting_trial_to_one_claimant(tmp_path):
    # Plain Optuna on SQLite hands some of 100 queued trials to two of four racing processes
    # (SELECT ... FOR UPDATE is a no-op there); open_storage's BEGIN IMMEDIATE must prevent that.
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    study = optuna.create_study(study_name="claims", storage=url)
    for k in range(100):
        study.enqueue_trial({"x": k}, user_attrs={"k": k})
    procs = [subprocess.Popen([sys.executable, "-c", CLAIM, url], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    claimed = [int(k) for p in procs for k in p.communicate(timeout=120)[0].split() if k != "-1"]
    assert sorted(claimed) == list(range(100))
