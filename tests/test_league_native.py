"""Self-play on the native many-row envs other than connect4: pong's two paddles, snake's and mmo's
opponent agents. The opponents act inside OpponentEnv on real C envs; the trainer sees the learner's
rows only."""
import copy

import numpy as np
import pytest
import torch

import sailfish
from sailfish.league import League, LeagueConfig, OpponentEnv, PolicyOpponent, train_self_play
from sailfish.league.opponents import FollowBallOpponent, policy_for_spaces
from sailfish.league.self_play import league_file, load_league_file
from sailfish.train import Trainer
from sailfish.train.checkpoint import load_checkpoint
from sailfish.train.config import Config

pytest.importorskip("openskill")

STAY, UP, DOWN = range(3)


class Recorder:
    """An opponent that plays ``inner`` and keeps every batch of observations it was given."""

    def __init__(self, inner):
        self.inner, self.name, self.seen = inner, inner.name, []

    def act(self, observations: torch.Tensor, action_masks=None) -> torch.Tensor:
        self.seen.append(observations.clone())
        return self.inner.act(observations, action_masks)


class Scorebook:
    """A matchmaker of one opponent that keeps the score of every game reported to it."""

    def __init__(self, opponent):
        self._opponent, self.scores = opponent, []

    def sample(self, rng) -> int:
        return 0

    def opponent(self, opponent_id: int):
        return self._opponent

    def record(self, opponent_id: int, learner_score: float) -> None:
        self.scores.append(learner_score)


def mirrored(obs):
    """Pong rows as the other paddle sees the same field: paddles swapped, ball x and vx negated."""
    return obs[..., [1, 0, 2, 3, 4, 5]] * torch.tensor([1, 1, -1, 1, -1, 1], dtype=obs.dtype)


def greedy_actions(policy, dist, obs: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        params, _, _ = policy(torch.from_numpy(obs), None)
        return dist.mode(params.float()).numpy()


# ---------------------------------------------------------------- pong: two paddles
def _pong_config(**kw):
    return Config.load("pong", {"env_config": {"players": 2}, "num_envs": 16, "rollout_steps": 32,
                                "bptt_horizon": 16, "minibatch_size": 256, "torch_threads": 1, "runs_dir": "", **kw})


def test_pong_follow_bot_wins_most_points_against_random_play():
    env = sailfish.make("pong", num_envs=64, seed=0, log_interval=0, players=2)
    obs, _ = env.reset()
    bot, rng = FollowBallOpponent(), np.random.default_rng(0)
    assert bot.act(torch.tensor([[0.0, 0, 0, -0.2, 0, 0], [0.0, 0, 0, 0.2, 0, 0], [0.0, 0, 0, 0.03, 0, 0]])).tolist() \
        == [UP, DOWN, STAY]
    points = np.zeros(2)
    for _ in range(2000):  # the bot plays the left paddle (row 1), random play the right
        actions = np.empty(env.num_envs, np.int32)
        actions[0::2] = rng.integers(0, 3, env.num_instances)
        actions[1::2] = bot.act(torch.from_numpy(obs[1::2])).numpy()
        obs, rewards, *_ = env.step(actions)
        points += [(rewards[1::2] > 0).sum(), (rewards[1::2] < 0).sum()]
    assert points.sum() > 300 and points[0] > 0.8 * points.sum(), points


def test_pong_opponent_rows_never_reach_the_trainer():
    """The experience holds one row per env, row 0's: at every step the opponent was shown the mirror
    image of what the learner's row stored (the same field from the other side)."""
    inner = sailfish.make("pong", num_envs=16, seed=0, log_interval=0, players=2)
    opponent = Recorder(FollowBallOpponent())
    env = OpponentEnv(inner, 1, opponent)
    trainer = Trainer(env, config=_pong_config())
    trainer.collect()
    exp = trainer.experience
    assert exp.rows == 16 == inner.num_rows // 2 and exp.host["masks"].all()
    seen = torch.stack(opponent.seen, 1)  # [rows, steps, 6]: one batch per step, every row live
    assert seen.shape == exp.host["obs"].shape == (16, 32, 6)
    assert torch.equal(seen, mirrored(exp.host["obs"]))
    assert not torch.equal(seen, exp.host["obs"])
    # the first stored observation is a serve to the right paddle: coming at the learner, away from the opponent
    assert torch.all(exp.host["obs"][:, 0, 4] > 0) and torch.all(seen[:, 0, 4] < 0)
    env.close()


def test_pong_self_play_runs_end_to_end_from_the_shipped_league_file(tmp_path):
    train, settings = load_league_file(league_file("pong"))
    assert train["env_config"] == {"players": 2} and settings["bots"] == ["follow"]
    config = _pong_config(total_steps=6 * 16 * 32, checkpoint_interval=0, runs_dir=str(tmp_path))
    trainer, league = train_self_play(config, LeagueConfig.from_dict({**settings, "snapshot_interval": 2}),
                                      plot=False)
    assert trainer.global_step == 6 * 16 * 32 and trainer.experience.rows == 16
    assert [e["name"] for e in league.entries.values()] == ["bot:follow", "snapshot@0", "snapshot@2", "snapshot@4",
                                                            "snapshot@6"]
    saved = load_checkpoint(trainer.run_dir / "league.pt")["league"]
    assert saved["next_id"] == league.next_id and (trainer.run_dir / "league.csv").is_file()


def test_train_cli_self_play_pong(tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "sailfish", "train", "pong", "--self-play", "--quiet", "--num-envs", "32",
           "--minibatch-size", "512", "--torch-threads", "1", "--total-steps", "6000", "--runs-dir", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (run,) = tmp_path.iterdir()
    league = load_checkpoint(run / "league.pt")["league"]
    assert any(e["name"] == "bot:follow" for e in league["entries"].values())
    assert "learner rating" in done.stdout


# ---------------------------------------------------------------- snake and mmo: some agents are opponents
def _snake(num_envs=3, **config):
    config = {"snakes": 6, "width": 16, "height": 16, "food": 12, **config}
    return sailfish.make("snake", num_envs=num_envs, seed=0, log_interval=0, **config)


def _mmo(num_envs=2, **config):
    config = {"map_size": 24, "agents": 8, "npcs": 8, "window": 5, "horizon": 40, "respawn_delay": 2,
              "food_drain": 8, "water_drain": 8, **config}  # fast starvation: deaths and respawns in a short run
    return sailfish.make("mmo", num_envs=num_envs, seed=0, log_interval=0, **config)


def _many_agent_config(name, inner, **kw):
    base = {"num_envs": inner.num_instances, "rollout_steps": 16, "bptt_horizon": 16, "minibatch_size": 64,
            "torch_threads": 1, "runs_dir": "", "recurrent": False}
    return Config.load(name, {**base, **kw})


@pytest.mark.parametrize("name", ["snake", "mmo"])
def test_learner_rows_are_the_first_of_each_env_and_opponent_rows_play_the_snapshot(name):
    inner = _snake() if name == "snake" else _mmo()
    A, L, N = inner.agents_per_env, 2, inner.num_instances
    config = _many_agent_config(name, inner)
    policy = policy_for_spaces(inner.single_observation_space, inner.single_action_space, config)
    frozen = copy.deepcopy(policy)
    env = OpponentEnv(inner, L, PolicyOpponent(policy, inner.single_action_space, greedy=True))
    with torch.no_grad():  # the learner moves on; the snapshot must not
        for p in policy.parameters():
            p.add_(torch.randn_like(p))
    learner = (np.arange(N)[:, None] * A + np.arange(L)).ravel()
    opponents = np.setdiff1d(np.arange(N * A), learner)
    obs, _ = env.reset(seed=1)
    assert env.num_envs == N * L and obs.shape == (N * L, *inner.single_observation_space.shape)
    rng = np.random.default_rng(0)
    dead = 0
    for _ in range(60):
        assert np.array_equal(env.observations, inner.observations[learner])
        assert np.array_equal(env.masks, inner.masks[learner])
        before_obs, before_live = inner.observations[opponents].copy(), inner.masks[opponents].copy()
        high = inner.single_action_space.nvec if name == "mmo" else 4
        actions = rng.integers(0, high, env.actions.shape).astype(np.int32)
        _, rewards, terminals, truncations, _ = env.step(actions)
        assert np.array_equal(inner.actions[learner], actions)
        expected = greedy_actions(frozen, env.league.opponent(0).dist, before_obs)
        assert np.array_equal(inner.actions[opponents][before_live], expected[before_live].astype(np.int32))
        assert np.array_equal(rewards, inner.rewards[learner]) and np.array_equal(terminals, inner.terminals[learner])
        dead += (~before_live).sum()
    if name == "mmo":
        assert dead > 0  # dead opponents were skipped (their rows are padding), so the check above saw both kinds
    env.close()


class FollowSnake:
    """A scripted snake: keeps heading for the free cell above, else to the side (codes: 0 empty, 1 food)."""

    name = "bot:up"

    def act(self, observations: torch.Tensor) -> torch.Tensor:
        c = observations.shape[-1] // 2
        up = observations[:, c - 1, c] <= 1
        return torch.where(up, 0, torch.where(observations[:, c, c - 1] <= 1, 2, 3))


def test_snake_arena_game_goes_to_the_side_that_earned_more_per_snake():
    inner = _snake(num_envs=4, horizon=25)
    book = Scorebook(FollowSnake())
    env = OpponentEnv(inner, 2, book)
    env.reset(seed=0)
    A, L, N = 6, 2, 4
    totals, expected, ends = np.zeros((N, 2)), [], 0
    rng = np.random.default_rng(1)
    for step in range(100):
        env.step(rng.integers(0, 4, N * L).astype(np.int32))
        r = inner.rewards.reshape(N, A)
        totals += np.stack([r[:, :L].sum(1) / L, r[:, L:].sum(1) / (A - L)], 1)
        ends += (env.terminals | env.truncations).sum()
        if (step + 1) % 25 == 0:  # every arena ends together, every 25 steps
            assert (inner.truncations | inner.terminals).all()
            expected += [1.0 if a > b else (0.5 if a == b else 0.0) for a, b in totals]
            totals[:] = 0
        else:
            assert not (inner.truncations | inner.terminals).reshape(N, A).all(1).any()
    assert book.scores == expected and len(expected) == 16 and 0 < np.mean(expected) < 1
    assert env.episode_stats()["episodes"] == ends > 16 * L  # lives, counted one by one, more than the games


def test_snake_self_play_from_the_shipped_league_file_trains():
    train, settings = load_league_file(league_file("snake"))
    assert train["env_config"]["horizon"] > 0 and settings["learner_rows_per_env"] < 32
    env_config = {**train["env_config"], "snakes": 8, "width": 16, "height": 16, "food": 12, "horizon": 24}
    config = Config.load("snake", {"env_config": env_config, "num_envs": 4, "rollout_steps": 16,
                                   "minibatch_size": 128, "torch_threads": 1, "runs_dir": "",
                                   "total_steps": 4 * 4 * 16 * 5, "checkpoint_interval": 0})
    league_config = LeagueConfig.from_dict({**settings, "learner_rows_per_env": 4, "snapshot_interval": 2})
    trainer, league = train_self_play(config, league_config, plot=False)
    assert trainer.update_count == 5 and trainer.experience.rows == 4 * 4
    assert league.games >= 4 * 3 and len(league.entries) == 3  # 80 steps: three arenas of 24 in each env
    assert trainer.env.seats[:, 0].tolist() == [3] * 4  # moved one seat on per arena (alternate_seats)


def test_mmo_with_opponent_agents_trains_a_few_iterations():
    inner = _mmo()
    config = _many_agent_config("mmo", inner, total_steps=10**9)
    policy = policy_for_spaces(inner.single_observation_space, inner.single_action_space, config)
    league = League(LeagueConfig(pool_size=2), policy, inner.single_action_space, "mmo")
    league.add_snapshot(policy, 0)
    env = OpponentEnv(inner, 4, league)
    trainer = Trainer(env, config=config)
    padding = 0
    for _ in range(3):
        trainer.iteration()
        league.update_ratings()
        padding += int((~trainer.experience.host["masks"]).sum())
    assert trainer.experience.rows == 2 * 4 and trainer.global_step == 3 * 8 * 16
    assert league.games == 2  # one world each, ended at the 40-tick horizon
    assert padding > 0  # dead learner agents were padding, left out of the update
    trainer.close()
    env.close()


def test_self_play_refuses_as_many_learner_rows_as_the_env_has():
    config = Config.load("snake", {"env_config": {"snakes": 4, "width": 16, "height": 16, "food": 4}, "num_envs": 1,
                                   "runs_dir": ""})
    with pytest.raises(ValueError, match="learner_rows_per_env: must be below the 4 rows"):
        train_self_play(config, LeagueConfig(learner_rows_per_env=4))
