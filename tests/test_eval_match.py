"""`sailfish eval connect4 RUN --vs bot:NAME`: a match against a scripted opponent, half the games
moving first, reported as win/draw/loss rates with 95% Wilson intervals; bad --vs values are one line."""
import re
import subprocess
import sys

import pytest
from scipy.stats import binomtest

from sailfish.commands.eval import bot_config

LAUNCH = ("import sys; sys.modules.update(dict.fromkeys({blocked!r})); sys.argv[0] = 'sailfish'; "
          "from sailfish.cli import main; sys.exit(main())")


def sailfish(*argv, cwd=None, blocked=()):
    """``sailfish <argv>`` in a fresh interpreter in which ``blocked`` packages cannot be imported."""
    return subprocess.run([sys.executable, "-c", LAUNCH.format(blocked=list(blocked)), *argv], capture_output=True,
                          text=True, cwd=cwd, timeout=180)


@pytest.fixture(scope="module")
def connect4_run(tmp_path_factory):
    """A connect4 run trained for a few seconds (a cartpole-size budget)."""
    root = tmp_path_factory.mktemp("match")
    out = sailfish("train", "connect4", "--total-steps", "2048", "--num-envs", "16", "--rollout-steps", "32",
                   "--minibatch-size", "256", "--runs-dir", str(root / "runs"), "--quiet", cwd=root)
    assert out.returncode == 0, out.stderr
    (run_dir,) = (root / "runs").iterdir()
    return run_dir


RATE = r"(win|draw|loss) (\d\.\d{3}) \[(\d\.\d{3}), (\d\.\d{3})\]"


def test_eval_vs_a_bot_prints_win_draw_loss_rates_with_wilson_intervals(connect4_run):
    out = sailfish("eval", "connect4", str(connect4_run), "--vs", "bot:minimax2", "--episodes", "21",
                   cwd=connect4_run)
    assert out.returncode == 0, out.stderr
    head, sides, checkpoint = out.stdout.strip().splitlines()
    assert head.startswith("connect4 vs bot:minimax2: 21 games | ") and head.endswith("(95% Wilson)")
    first, second = (tuple(map(int, m)) for m in re.findall(r"(\d+) won, (\d+) drawn, (\d+) lost", sides))
    assert sides.strip().startswith("moving first:") and "moving second:" in sides
    assert sum(first) == 11 and sum(second) == 10  # the odd game moves first
    counts = [a + b for a, b in zip(first, second)]
    rates = re.findall(RATE, head)
    assert [name for name, *_ in rates] == ["win", "draw", "loss"]
    assert abs(sum(float(rate) for _, rate, _, _ in rates) - 1.0) < 2e-3  # each rounded to 3 places
    for (_, rate, lo, hi), k in zip(rates, counts):
        assert float(rate) == pytest.approx(k / 21, abs=5e-4)
        ci = binomtest(k, 21).proportion_ci(confidence_level=0.95, method="wilson")
        assert (float(lo), float(hi)) == pytest.approx((ci.low, ci.high), abs=5e-4)
        assert float(lo) <= float(rate) <= float(hi)
    assert checkpoint.strip().startswith("checkpoint ") and checkpoint.strip().endswith(".pt")


def test_eval_vs_random_plays_every_game_it_is_asked_for(connect4_run):
    out = sailfish("eval", "connect4", str(connect4_run), "--vs", "bot:random", "--episodes", "130",
                   "--deterministic", cwd=connect4_run)
    assert out.returncode == 0, out.stderr
    assert "130 games" in out.stdout and "moving first: " in out.stdout


@pytest.mark.parametrize("vs,needle", [
    ("runs/other", "--vs runs/other: playing against another run is not supported yet"),
    ("bot:minimax", "unknown bot 'minimax'"),
    ("bot:minimax0", "the minimax depth must be 1 to 10"),
    ("bot:alphazero", "unknown bot 'alphazero'; use bot:onestep, bot:minimax<depth>"),
])
def test_eval_vs_a_bad_opponent_is_one_line(connect4_run, vs, needle):
    out = sailfish("eval", "connect4", str(connect4_run), "--vs", vs, cwd=connect4_run)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sailfish eval: error: ") and needle in lines[0], out.stderr


def test_eval_vs_without_scipy_is_one_line_naming_the_extra(connect4_run):
    out = sailfish("eval", "connect4", str(connect4_run), "--vs", "bot:onestep", cwd=connect4_run,
                   blocked=["scipy"])
    assert out.returncode == 2
    assert out.stderr == "sailfish eval: error: a match (--vs) needs scipy: pip install 'sailfish-rl[stats]'\n"


def test_bot_names_map_to_connect4_opponent_parameters():
    assert bot_config("bot:onestep") == {"opponent": 0}
    assert bot_config("bot:random") == {"opponent": 2}
    assert bot_config("bot:minimax6") == {"opponent": 1, "opponent_depth": 6}
