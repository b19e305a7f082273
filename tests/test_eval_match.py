"""`sailfish eval connect4 RUN --vs bot:NAME`: a match against a scripted opponent, half the games
moving first, reported as win/draw/loss rates with 95% Wilson intervals; bad --vs values are one line.
`--vs RUN2`: the run against another run's policy in the env's two-row mode (and its GIF)."""
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
    ("runs/other", "runs/other: no such run directory or checkpoint file"),
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


def _match_moves(opponent: dict, deterministic: bool, games: int = 21):
    import torch

    import sailfish
    from sailfish.commands.eval import play_match
    from sailfish.policies import make_policy
    from sailfish.train.config import Config

    def make_side(first, n):
        return sailfish.make("connect4", num_envs=n, seed=3 + first, log_interval=0, agent_first=float(first),
                             **opponent)

    torch.manual_seed(0)
    env = make_side(True, 1)
    policy = make_policy(env, Config.load("connect4", {"runs_dir": ""})).eval()
    env.close()
    moves: dict[str, list] = {}
    counts = play_match(make_side, policy, games, deterministic=deterministic, max_envs=8, moves=moves)
    return counts, moves


def test_play_match_records_each_games_moves_of_the_policy():
    counts, moves = _match_moves({"opponent": 2}, deterministic=False)  # sampled, against random play
    for side, fewest in (("first", 4), ("second", 3)):  # a game needs four stones of one side
        assert len(moves[side]) == counts[side].sum() == (11 if side == "first" else 10)
        for game in moves[side]:
            assert fewest <= len(game) <= 21 and all(len(m) == 1 and 0 <= m[0] < 7 for m in game), game
    # Random games on both sides do not repeat; the count of distinct ones is what the benchmark reports.
    assert len(set(moves["first"])) == 11 and len(set(moves["second"])) == 10
    _, greedy = _match_moves({"opponent": 1, "opponent_depth": 2}, deterministic=True)
    # Greedy play meets the same empty board in every game it opens, so it opens them all alike.
    assert len({game[0] for game in greedy["first"]}) == 1
    assert len(set(greedy["first"])) < 11  # and against a search it repeats whole games


@pytest.fixture(scope="module")
def second_connect4_run(tmp_path_factory):
    """Another connect4 run, trained by self-play (players = 2) for a few seconds."""
    root = tmp_path_factory.mktemp("rival")
    out = sailfish("train", "connect4", "--total-steps", "2048", "--num-envs", "16", "--rollout-steps", "32",
                   "--minibatch-size", "256", "--env-config", "players=2", "--runs-dir", str(root / "runs"),
                   "--quiet", cwd=root)
    assert out.returncode == 0, out.stderr
    (run_dir,) = (root / "runs").iterdir()
    return run_dir


def test_eval_vs_another_run_plays_every_game_and_reports_wilson_rates(connect4_run, second_connect4_run):
    out = sailfish("eval", "connect4", str(connect4_run), "--vs", str(second_connect4_run), "--episodes", "40",
                   cwd=connect4_run)
    assert out.returncode == 0, out.stderr
    head, counts_line, checkpoint = out.stdout.strip().splitlines()
    assert head.startswith(f"connect4 vs {second_connect4_run}") and "40 games" in head
    won, drawn, lost = map(int, re.match(r"\s*(\d+) won, (\d+) drawn, (\d+) lost", counts_line).groups())
    assert won + drawn + lost == 40
    for (_, rate, lo, hi), k in zip(re.findall(RATE, head), (won, drawn, lost)):
        assert float(rate) == pytest.approx(k / 40, abs=5e-4) and float(lo) <= float(rate) <= float(hi)
    assert checkpoint.strip().startswith("checkpoint ")


def test_a_run_against_itself_wins_as_often_as_it_loses(second_connect4_run):
    # the same greedy policy on both sides, the env alternating who moves first: each game is decided
    # by the seat alone, so wins and losses pair up (draws aside)
    from sailfish.commands.eval import play_versus, versus_config
    from sailfish.league.opponents import PolicyOpponent
    from sailfish.league.wrapper import OpponentEnv
    from sailfish.policies import make_policy
    from sailfish.train import make_env
    from sailfish.train.checkpoint import load_checkpoint, resolve_checkpoint
    from sailfish.train.config import Config

    payload = load_checkpoint(resolve_checkpoint(second_connect4_run))
    config = versus_config(Config.load(overrides=dict(payload["config"])))
    env = make_env(config, num_envs=8, seed=3)
    rival = PolicyOpponent.from_checkpoint(second_connect4_run, env.single_observation_space,
                                           env.single_action_space, greedy=True)
    env = OpponentEnv(env, 1, rival)
    policy = make_policy(env, config)
    policy.load_state_dict(payload["policy"])
    try:
        won, drawn, lost = play_versus(env, policy.eval(), 64, deterministic=True)
    finally:
        env.close()
    assert won + drawn + lost == 64 and won == lost


def test_eval_vs_another_run_records_the_first_game_as_a_gif(connect4_run, second_connect4_run, tmp_path):
    gif = tmp_path / "match.gif"
    out = sailfish("eval", "connect4", str(connect4_run), "--vs", str(second_connect4_run), "--episodes", "1",
                   "--gif", str(gif), cwd=connect4_run)
    assert out.returncode == 0, out.stderr
    from PIL import Image

    with Image.open(gif) as image:
        assert image.n_frames >= 8  # at least 7 moves in a game of connect4, plus the final position


def test_eval_vs_another_run_in_an_env_without_two_rows_is_one_line(tmp_path):
    out = sailfish("train", "cartpole", "--total-steps", "1024", "--runs-dir", str(tmp_path / "runs"), "--quiet",
                   cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    out = sailfish("eval", "cartpole", str(run_dir), "--vs", str(run_dir), cwd=tmp_path)
    assert out.returncode == 2
    assert "a run can play another run in connect4, pong only" in out.stderr.strip().splitlines()[0]
