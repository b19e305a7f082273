"""The lean install: optional packages are imported only by the feature that needs them, and a missing
one is a single line naming the extra that installs it. Packages are made missing for real:
``sys.modules[name] = None`` makes every ``import name`` fail, in this process or in a child."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sailfish._extras import EXTRAS, MissingExtra, require

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
OPTIONAL = ["optuna", "sqlalchemy", "tensorboard", "matplotlib", "PIL", "wandb", "pettingzoo"]


def _names(requirements: list[str]) -> set[str]:
    """Lower-case distribution names of requirement strings (``"sailfish-rl[sweep]"`` -> ``sailfish-rl``)."""
    return {re.split(r"[<>=;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def sailfish_without(blocked, *argv, cwd=None):
    """``sailfish <argv>`` in a fresh interpreter in which ``blocked`` packages cannot be imported."""
    launch = (f"import sys; sys.modules.update(dict.fromkeys({list(blocked)!r})); sys.argv[0] = 'sailfish'; "
              "from sailfish.cli import main; sys.exit(main())")
    return subprocess.run([sys.executable, "-c", launch, *argv], capture_output=True, text=True, cwd=cwd,
                          timeout=180)


def test_every_optional_import_is_declared_under_its_extra():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"]
    core = _names(project["dependencies"])
    for module, (extra, dist) in EXTRAS.items():
        assert dist in _names(extras[extra]), f"{module}: {dist} is not in the [{extra}] extra"
        assert dist not in core, f"{dist} is optional ([{extra}]) but also a core dependency"
    every = {extra for extra, _ in EXTRAS.values()}
    (all_,) = extras["all"]
    assert set(re.search(r"\[(.*)\]", all_).group(1).split(",")) == every
    assert set(re.search(r"\[(.*)\]", extras["test"][0]).group(1).split(",")) == every - {"wandb"}
    assert {"pytest", "hypothesis", "scipy", "psycopg2-binary"} <= _names(extras["test"])
    assert core >= {"numpy", "gymnasium", "torch", "rich", "tomli-w"}


def test_require_names_the_extra_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(MissingExtra) as info:
        require("optuna", "the sweep")
    assert str(info.value) == "the sweep needs optuna: pip install 'sailfish-rl[sweep]'"
    assert isinstance(info.value, ImportError)
    assert require("matplotlib.pyplot", "x") is sys.modules["matplotlib.pyplot"]  # installed: the module
    with pytest.raises(KeyError, match="not an optional package of sailfish"):
        require("json", "x")


def test_sweep_python_api_without_optuna_raises_missing_extra(monkeypatch, tmp_path):
    from sailfish.sweep.study import open_storage

    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(MissingExtra, match=re.escape("pip install 'sailfish-rl[sweep]'")):
        open_storage(f"sqlite:///{tmp_path}/s.db")


def test_plots_without_matplotlib_raise_missing_extra(monkeypatch, tmp_path):
    from sailfish.ablate.report import plot_score_vs_wallclock

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtra, match=re.escape("needs matplotlib: pip install 'sailfish-rl[plot]'")):
        plot_score_vs_wallclock(tmp_path, [], [], "return")


def test_sailfish_sweep_without_optuna_is_one_line_naming_the_extra(tmp_path):
    out = sailfish_without(["optuna"], "sweep", "cartpole", "--trials", "1", "--runs-dir", str(tmp_path))
    assert out.returncode == 2, out.stderr
    assert out.stderr == "sailfish sweep: error: the sweep needs optuna: pip install 'sailfish-rl[sweep]'\n"
    assert not (tmp_path / "sweeps").exists()  # refused before any work


def test_train_and_eval_work_without_any_optional_package(tmp_path):
    runs = tmp_path / "runs"
    out = sailfish_without(OPTIONAL, "train", "cartpole", "--total-steps", "2000", "--runs-dir", str(runs),
                           cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (run_dir,) = runs.iterdir()
    assert (run_dir / "metrics.csv").stat().st_size > 0 and (run_dir / "config.toml").exists()
    assert not list(run_dir.glob("events.out.tfevents*"))
    notices = [line for line in out.stderr.splitlines() if "TensorBoard" in line]
    assert notices == ["sailfish: metrics go to metrics.csv only, no TensorBoard events: TensorBoard logging "
                       "needs tensorboard: pip install 'sailfish-rl[tensorboard]'"], out.stderr
    assert "Traceback" not in out.stderr

    out = sailfish_without(OPTIONAL, "eval", "cartpole", str(run_dir), "--episodes", "1", cwd=tmp_path)
    assert out.returncode == 0 and "1 episodes" in out.stdout, out.stderr
    out = sailfish_without(OPTIONAL, "eval", "cartpole", str(run_dir), "--gif", str(tmp_path / "a.gif"),
                           cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == ("sailfish eval: error: GIF recording (--gif) needs pillow: "
                          "pip install 'sailfish-rl[plot]'\n")


def test_asking_for_wandb_without_it_is_one_line_naming_the_extra(tmp_path):
    out = sailfish_without(["wandb"], "train", "cartpole", "--total-steps", "512", "--wandb", "true",
                           "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == ("sailfish train: error: W&B logging (wandb = true) needs wandb: "
                          "pip install 'sailfish-rl[wandb]'\n")


def test_an_ablation_without_matplotlib_writes_its_report_and_says_the_plot_needs_the_extra(tmp_path):
    out = sailfish_without(["matplotlib"], "ablate", "cartpole", "--seeds", "1", "--set", "lr=1e-3",
                           "--total-steps", "512", "--workers", "1", "--study", "a", "--runs-dir", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "a" / "report.md").exists() and (tmp_path / "a" / "report.csv").exists()
    assert not (tmp_path / "a" / "score_vs_wallclock.png").exists()
    assert "pip install 'sailfish-rl[plot]'" in " ".join(out.stdout.split())  # rich may wrap the line
