"""`sailfish ablate` end to end with real runs (cartpole, 20k steps each), resume, and bad input."""
import csv
import json

from sailfish.ablate.spec import baseline_of, build_variants
from sailfish.cli import main

ARGS = ["ablate", "cartpole", "--seeds", "2", "--set", "lr=3e-3,5e-3", "--total-steps", "20000",
        "--workers", "2", "--study", "t"]


def test_ablation_runs_every_variant_and_seed_then_resumes_without_rerunning(tmp_path, capsys):
    assert main(ARGS + ["--runs-dir", str(tmp_path)]) == 0
    study = tmp_path / "t"
    results = sorted(study.glob("*/seed*/result.json"))
    assert [p.relative_to(study).as_posix() for p in results] == [
        "lr=3e-3/seed0/result.json", "lr=3e-3/seed1/result.json",
        "lr=5e-3/seed0/result.json", "lr=5e-3/seed1/result.json"]
    for path in results:
        result = json.loads(path.read_text())
        run_dir = path.parent / result["run_dir"]
        assert (run_dir / "metrics.csv").exists() and (run_dir / "config.toml").exists()
        assert result["global_step"] >= 20000 and result["final_score"] > 9  # a random policy scores ~22
    rows = list(csv.DictReader(open(study / "report.csv")))
    assert [r["variant"] for r in rows] == ["lr=3e-3", "lr=5e-3"]
    assert rows[0]["baseline"] == "True" and rows[0]["p_improve"] == "nan"
    assert 0.0 <= float(rows[1]["p_improve"]) <= 1.0 and rows[1]["runs"] == "2"
    assert float(rows[1]["iqm_ci_low"]) <= float(rows[1]["iqm"]) <= float(rows[1]["iqm_ci_high"])
    report_md = (study / "report.md").read_text()
    assert report_md.count("|") > 10 and "Ran as: populations" in report_md
    assert {json.loads(p.read_text())["mode"] for p in results} == {"population"}
    assert (study / "score_vs_wallclock.png").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "ran 4 runs" in out and "IQM" in out

    stamps = {p: p.stat().st_mtime_ns for p in results}
    assert main(ARGS + ["--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ran 0 runs" in out and "4 already done" in out
    assert {p: p.stat().st_mtime_ns for p in results} == stamps


def test_unknown_key_in_set_names_the_close_key(capsys, tmp_path, cli_error):
    err = cli_error(["ablate", "cartpole", "--set", "lrr=1e-3,3e-3", "--runs-dir", str(tmp_path)])
    assert "--set lrr=1e-3: lrr: unknown config key (did you mean 'lr'?)" in err


def test_value_of_wrong_type_names_the_key_and_type(capsys, tmp_path, cli_error):
    err = cli_error(["ablate", "cartpole", "--set", "update_epochs=4,many", "--runs-dir", str(tmp_path)])
    assert "--set update_epochs=many: update_epochs: must be an integer" in err


def test_variant_combination_config_refuses_fails_before_any_run(capsys, tmp_path, cli_error):
    err = cli_error(["ablate", "cartpole", "--variant", "odd:minibatch_size=1000", "--runs-dir", str(tmp_path)])
    assert "--variant odd: minibatch_size" in err and not any(tmp_path.iterdir())


def test_grid_variants_are_named_by_their_values_and_the_first_is_the_baseline():
    variants = build_variants(["lr=1e-3,3e-3", "clip_coef=0.1,0.2"], [])
    assert [v.name for v in variants] == ["lr=1e-3_clip_coef=0.1", "lr=1e-3_clip_coef=0.2",
                                          "lr=3e-3_clip_coef=0.1", "lr=3e-3_clip_coef=0.2"]
    assert baseline_of(variants) == "lr=1e-3_clip_coef=0.1"
    named = build_variants(["lr=1e-3"], ["fast:lr=3e-3,update_epochs=2", "baseline"])
    assert baseline_of(named) == "baseline" and named[0].overrides == {"lr": "3e-3", "update_epochs": "2"}


def test_population_off_runs_one_process_per_run_and_the_report_says_so(tmp_path):
    args = ["ablate", "cartpole", "--seeds", "2", "--set", "lr=3e-3,5e-3", "--total-steps", "4096",
            "--workers", "2", "--study", "off", "--population", "off", "--runs-dir", str(tmp_path)]
    assert main(args) == 0
    results = sorted((tmp_path / "off").glob("*/seed*/result.json"))
    assert len(results) == 4 and {json.loads(p.read_text())["mode"] for p in results} == {"one process per run"}
    assert "Ran as: one process per run" in (tmp_path / "off" / "report.md").read_text()


def test_runs_that_differ_in_structure_go_to_separate_populations():
    from sailfish.ablate import population_jobs
    from sailfish.ablate.spec import RunSpec

    def spec(variant, seed, **overrides):
        return RunSpec(env="cartpole", variant=variant, seed=seed, overrides=overrides, seed_dir=f"/x/{variant}/{seed}",
                       metric="return", final_episodes=0)

    todo = [spec("a", s, lr="1e-3") for s in range(3)] + [spec("b", s, hidden_size="32") for s in range(3)]
    jobs = population_jobs(todo, workers=2)
    assert sorted(sorted(s.variant for s in job) for job in jobs) == [["a"] * 3, ["b"] * 3]
    jobs = population_jobs(todo[:4], workers=2)  # 'a' x 3 and 'b' x 1: already two populations
    assert sorted(len(job) for job in jobs) == [1, 3]
    (one,) = [population_jobs(todo[:3], workers=1)]
    assert len(one) == 1 and len(one[0]) == 3
    assert sorted(len(job) for job in population_jobs(todo[:3], workers=2)) == [1, 2]  # split over the cores
