"""sailfish.league: opponent rows stay inside OpponentEnv, snapshots act as saved, league state saves."""
import numpy as np
import pytest
import torch

import sailfish
from sailfish.league import League, LeagueConfig, OpponentEnv, PolicyOpponent, RandomLegalOpponent
from sailfish.league.opponents import policy_for_spaces
from sailfish.league.wrapper import FixedOpponent
from sailfish.league.self_play import save_league
from sailfish.train import Trainer
from sailfish.train.checkpoint import load_checkpoint, save_checkpoint
from sailfish.train.config import Config

pytest.importorskip("openskill")


def _c4(num_envs=8, seed=0):
    return sailfish.make("connect4", num_envs=num_envs, seed=seed, log_interval=0, players=2)


def _config(**kw):
    return Config.load("connect4", {"env_config": {"players": 2}, "num_envs": 8, "rollout_steps": 16,
                                    "minibatch_size": 64, "runs_dir": "", **kw})


def test_trainer_buffers_hold_only_learner_rows_and_their_masks():
    inner = _c4()
    env = OpponentEnv(inner, 1, RandomLegalOpponent(slice(42, 49), seed=1))
    trainer = Trainer(env, config=_config())
    assert trainer.experience.rows == 8 == env.num_rows == inner.num_rows // 2
    trainer.collect()
    obs, masks = trainer.experience.host["obs"], trainer.experience.host["masks"]
    # connect4 players=2 strictly alternates, so the learner (row 0) moves on about half the steps
    assert 0.3 < masks.float().mean() < 0.7
    # every live learner observation has the move parity of the learner's turn: it moved first (equal
    # disc counts) or second (one disc fewer); a row of the opponent's would have one disc more
    own = (obs[..., :42] == 1).sum(-1)
    other = (obs[..., :42] == -1).sum(-1)
    assert torch.all((other - own)[masks] >= 0) and torch.all((other - own)[masks] <= 1)
    assert torch.all((own - other)[~masks] >= 0)
    env.close()


class Recording:
    """An opponent that records the legal-action masks it was given and the actions it chose."""

    def __init__(self, inner):
        self.inner, self.name, self.seen = inner, inner.name, []

    def act(self, observations, action_masks=None):
        actions = self.inner.act(observations, action_masks)
        self.seen.append((action_masks.clone(), actions.clone()))
        return actions


def test_neither_the_learner_nor_a_snapshot_plays_a_full_column():
    inner = _c4(num_envs=64)
    assert inner.action_masks.shape == (128, 7)  # both rows of each game: connect4's legal-move flags
    untrained = policy_for_spaces(inner.single_observation_space, inner.single_action_space, _config())
    opponent = Recording(PolicyOpponent(untrained, inner.single_action_space, seed=3))
    env = OpponentEnv(inner, 1, opponent)
    trainer = Trainer(env, config=_config(num_envs=64, rollout_steps=64, minibatch_size=1024, torch_threads=1))
    for _ in range(3):
        trainer.collect()
        exp = trainer.experience
        live, legal, actions = exp.masks, exp.action_masks, exp.actions.long()
        chosen = legal.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        assert bool(chosen[live].all())  # every move the learner made was legal
        assert bool((~legal[live]).any())  # and full columns did come up
    masks = torch.cat([m for m, _ in opponent.seen])
    actions = torch.cat([a for _, a in opponent.seen])
    assert bool(masks.gather(1, actions.long().unsqueeze(1)).all()) and bool((~masks).any())
    env.close()


def _learner_rollout(num_envs=16, steps=64):
    """One real update of a connect4 learner against the random bot; returns the experience as NumPy."""
    env = OpponentEnv(_c4(num_envs=num_envs), 1, RandomLegalOpponent(slice(42, 49), seed=1))
    # one epoch: the advantages are those the update computed before its step (V-trace recomputes
    # them every epoch under the latest ratios)
    config = _config(num_envs=num_envs, rollout_steps=steps, minibatch_size=num_envs * steps // 4, update_epochs=1,
                     torch_threads=1)
    trainer = Trainer(env, config=config)
    trainer.collect()
    trainer.update()
    env.close()
    exp = {k: v.numpy() for k, v in trainer.experience.tensors().items()}
    return exp, config


def test_a_game_the_opponent_wins_is_the_loss_of_the_learners_last_move():
    exp, _ = _learner_rollout()
    live, rewards, ends, values = exp["masks"], exp["rewards"], exp["terminals"], exp["values"]
    # the learner moves at t, the opponent wins at t + 1: the learner's row is padding then, and
    # holds the -1 and the game's end, which are the learner's move's outcome
    lost = live[:, :-1] & ~live[:, 1:] & ends[:, 1:] & (rewards[:, 1:] == -1)
    assert lost.sum() >= 10
    np.testing.assert_allclose(exp["returns"][:, :-1][lost], -1.0, atol=1e-6)
    np.testing.assert_allclose(exp["advantages"][:, :-1][lost], -1.0 - values[:, :-1][lost], atol=1e-6)
    # and a game the learner wins by its own move is +1 to that move
    won = live & ends & (rewards == 1)
    assert won.sum() >= 10
    np.testing.assert_allclose(exp["returns"][won], 1.0, atol=1e-6)


def test_the_learners_moves_bootstrap_from_its_next_move_not_the_opponents_turn():
    exp, config = _learner_rollout()
    live, values, adv = exp["masks"], exp["values"], exp["advantages"]
    ends = exp["terminals"] | exp["truncations"]
    gamma, lam = config.gamma, config.gae_lambda
    checked = 0
    for row in range(live.shape[0]):
        moves = np.flatnonzero(live[row])
        for t, t2 in zip(moves[:-1], moves[1:]):
            if ends[row, t:t2].any():
                continue
            # one step of GAE over the learner's own moves: the opponent's turn in between is not a step
            delta = exp["rewards"][row, t:t2].sum() + gamma * values[row, t2] - values[row, t]
            np.testing.assert_allclose(adv[row, t], delta + gamma * lam * adv[row, t2], atol=1e-5)
            checked += 1
    assert checked > 100
    assert not adv[~live].any() and np.array_equal(exp["returns"][~live], values[~live])
    # a row that ends on the opponent's turn: the move before it has no next move in this batch and
    # bootstraps from its own value (as a time limit does), not from the opponent's-turn observation's
    ends_waiting = np.flatnonzero(~exp["next_masks"])
    assert 0 < len(ends_waiting) < live.shape[0]
    for row in ends_waiting:
        t = np.flatnonzero(live[row])[-1]
        if not ends[row, t:].any():
            np.testing.assert_allclose(adv[row, t], (gamma - 1) * values[row, t] + exp["rewards"][row, t:].sum(),
                                       atol=1e-6)


def test_learner_rows_do_not_depend_on_which_opponent_plays_until_it_moves():
    # the first step of every game the learner opens is the same whoever the opponent is
    a = OpponentEnv(_c4(), 1, RandomLegalOpponent(slice(42, 49), seed=1))
    b = OpponentEnv(_c4(), 1, RandomLegalOpponent(slice(42, 49), seed=2))
    oa, _ = a.reset(seed=3)
    ob, _ = b.reset(seed=3)
    assert np.array_equal(oa, ob) and a.masks.all() and oa.shape == (8, 49)
    a.step(np.full(8, 3, np.int32))
    b.step(np.full(8, 3, np.int32))
    assert not a.masks.any()  # the opponent's turn: the learner's rows are padding
    a.close(), b.close()


def test_learner_plays_first_and_second_equally_often():
    env = OpponentEnv(_c4(num_envs=4), 1, RandomLegalOpponent(slice(42, 49), seed=1))
    env.reset(seed=0)
    first = []
    starts = np.ones(4, bool)
    rng = np.random.default_rng(0)
    for _ in range(400):
        first += list(env.masks[starts])  # the learner is to move on a game's first step iff it moves first
        legal = env.observations[:, 42:] > 0
        actions = np.array([rng.choice(np.flatnonzero(l)) for l in legal], np.int32)
        _, _, term, trunc, _ = env.step(actions)
        starts = term | trunc
    assert len(first) > 40 and abs(np.mean(first) - 0.5) <= 0.05
    env.close()


class CountingMatchmaker(FixedOpponent):
    """One opponent for every game; keeps the results it hears."""

    def __init__(self, opponent):
        super().__init__(opponent)
        self.results = []

    def record(self, opponent_id, learner_score):
        self.results.append(learner_score)


def test_mirror_instances_are_the_learners_on_every_row_and_neither_rated_nor_counted():
    inner = _c4(num_envs=4)
    matchmaker = CountingMatchmaker(RandomLegalOpponent(slice(42, 49), seed=1))
    env = OpponentEnv(inner, 1, matchmaker, mirror_envs=2)
    assert env.num_rows == 2 * 2 + 2 * 1  # both rows of instances 0 and 1, row 0 of instances 2 and 3
    obs, _ = env.reset(seed=0)
    rows = [0, 1, 2, 3, 4, 6]
    assert env.assigned.tolist()[:2] == [-1, -1]  # no opponent is drawn for a mirror instance
    rng = np.random.default_rng(0)
    league_games = league_episodes = mirror_games = 0
    for _ in range(300):
        assert np.array_equal(obs, inner.observations[rows]) and np.array_equal(env.masks, inner.masks[rows])
        legal = obs[:, 42:] > 0
        actions = np.array([rng.choice(np.flatnonzero(l)) for l in legal], np.int32)
        obs, rewards, term, trunc, _ = env.step(actions)
        assert np.array_equal(inner.actions[:4], actions[:4])  # the learner's moves on both sides
        assert np.array_equal(rewards, inner.rewards[rows])
        games = (inner.terminals | inner.truncations).reshape(4, 2).all(1)
        league_games += int(games[2:].sum())
        mirror_games += int(games[:2].sum())
        league_episodes += int((term | trunc)[4:].sum())
        assert np.all(rewards[:4].reshape(2, 2).sum(1) == 0)  # a mirror game's outcome, from both sides
    stats = env.episode_stats()
    assert mirror_games > 10 and league_games > 10
    assert len(matchmaker.results) == league_games  # mirror games are not rated
    assert stats["episodes"] == league_episodes  # nor counted in the learner's win rate
    for bad in (4, -1):
        with pytest.raises(ValueError, match="mirror_envs"):
            OpponentEnv(_c4(num_envs=4), 1, matchmaker, mirror_envs=bad)
    env.close()


def test_self_play_with_mirror_instances_trains_on_both_sides_of_them():
    from sailfish.league.self_play import make_self_play

    config = _config(num_envs=8, rollout_steps=64, minibatch_size=208, torch_threads=1)
    env, trainer, league = make_self_play(config, LeagueConfig(mirror_fraction=0.7))
    assert env.mirror_envs == 5 and trainer.experience.rows == 5 * 2 + 3  # 0.7 x 8 instances, rounded down
    trainer.start()
    trainer.iteration()
    exp = trainer.experience
    masks = exp.masks
    # both rows of a mirror instance reach the loss (live samples), taking turns move by move
    assert bool((masks[0:10:2] ^ masks[1:10:2]).all())
    assert masks[0:10:2].any() and masks[1:10:2].any()
    wins, losses = exp.rewards[0:10:2] == 1, exp.rewards[1:10:2] == -1
    assert bool((wins == losses).all()) and wins.any()  # one side's win is the other's loss
    assert league.games > 0  # the other instances played the league's snapshot
    trainer.close()
    env.close()
    with pytest.raises(ValueError, match="mirror_fraction: 0.1 of 8 env instances is none"):
        make_self_play(config, LeagueConfig(mirror_fraction=0.1))


@pytest.mark.parametrize("encoder", ["mlp", "connect4"])  # the C rollout step, torch
def test_snapshot_opponent_acts_as_the_policy_did_when_saved(tmp_path, encoder):
    inner = _c4()
    config = _config(encoder=encoder)
    policy = policy_for_spaces(inner.single_observation_space, inner.single_action_space, config)
    save_checkpoint(tmp_path, 1, {"policy": policy.state_dict(), "config": config.to_dict()})
    obs = torch.from_numpy(np.random.default_rng(0).choice([-1.0, 0.0, 1.0], (64, 49)).astype(np.float32))
    with torch.inference_mode():
        expected = PolicyOpponent(policy, inner.single_action_space, seed=5).act(obs)
        for p in policy.parameters():  # a later update of the learner does not reach a snapshot
            p.add_(1.0)
        loaded = PolicyOpponent.from_checkpoint(tmp_path, inner.single_observation_space,
                                                inner.single_action_space, seed=5)
        assert torch.equal(loaded.act(obs), expected)
    inner.close()


@pytest.mark.parametrize("greedy", [False, True])
def test_a_snapshot_acts_through_the_c_rollout_step_as_through_torch(greedy):
    inner = _c4(num_envs=256)
    policy = policy_for_spaces(inner.single_observation_space, inner.single_action_space, _config())
    with torch.no_grad():  # a sharper head than an initialised one, so the greedy choice is not a near tie
        for p in policy.parameters():
            p.mul_(4.0)
    fused = PolicyOpponent(policy, inner.single_action_space, seed=5, greedy=greedy)
    torch_path = PolicyOpponent(policy, inner.single_action_space, seed=5, greedy=greedy, fused=False)
    assert fused._fused is not None and torch_path._fused is None
    rng = np.random.default_rng(0)
    obs = torch.from_numpy(rng.choice([-1.0, 0.0, 1.0], (512, 49)).astype(np.float32))
    legal = torch.from_numpy(rng.random((512, 7)) < 0.7)
    legal[:, 3] = True
    with torch.inference_mode():
        for _ in range(3):  # the same draws from each one's generator, step after step
            a, b = fused.act(obs, legal), torch_path.act(obs, legal)
            assert bool(legal.gather(1, a.unsqueeze(1)).all())
            # equal but where float rounding of the logits breaks a near tie between two columns
            assert (a == b).float().mean() >= 0.995
    inner.close()


def test_a_checkpoint_with_other_spaces_is_refused(tmp_path):
    config = Config.load("cartpole", {"runs_dir": ""})
    spec = sailfish.envs.spec("cartpole")
    policy = policy_for_spaces(spec.observation_space, spec.action_space, config)
    save_checkpoint(tmp_path, 1, {"policy": policy.state_dict(), "config": config.to_dict()})
    inner = _c4()
    with pytest.raises(ValueError, match="same spaces"):
        PolicyOpponent.from_checkpoint(tmp_path, inner.single_observation_space, inner.single_action_space)
    inner.close()


def test_league_state_survives_save_and_load(tmp_path):
    inner = _c4()
    config = _config()
    lc = LeagueConfig(pool_size=2, bots=["random"])
    make = lambda: policy_for_spaces(inner.single_observation_space, inner.single_action_space, config)  # noqa: E731
    league = League(lc, make(), inner.single_action_space, "connect4")
    learner = make()
    for update in (0, 10, 20):  # three snapshots, a pool of two: the first is dropped
        with torch.no_grad():
            for p in learner.parameters():
                p.add_(0.1)
        league.add_snapshot(learner, update)
    assert [e["name"] for e in league.entries.values()] == ["bot:random", "snapshot@10", "snapshot@20"]
    for uid, score in [(2, 0.0), (3, 1.0), (3, 0.5), (0, 1.0)]:
        league.record(uid, score)
    league.update_ratings()
    path = save_league(league, tmp_path, update=20)  # what train_self_play writes next to the run
    restored = League(lc, make(), inner.single_action_space, "connect4")
    restored.load_state_dict(load_checkpoint(path)["league"])
    assert restored.learner_rating() == league.learner_rating()
    assert restored.next_id == league.next_id and restored.games == league.games
    ids, p = league.probabilities()
    assert restored.probabilities()[0] == ids and np.allclose(restored.probabilities()[1], p)
    obs = torch.zeros(16, 49)
    obs[:, 42:] = 1
    with torch.inference_mode():
        for uid in (2, 3):
            a, b = league.opponent(uid), restored.opponent(uid)
            assert torch.equal(a.policy(obs, None)[0], b.policy(obs, None)[0])
    inner.close()


def test_pfsp_draws_the_opponents_the_learner_loses_to_more_often():
    spec = sailfish.envs.spec("connect4", players=2)
    config = _config()
    league = League(LeagueConfig(power=2.0, bots=[]), policy_for_spaces(spec.observation_space, spec.action_space,
                                                                      config), spec.action_space, "connect4")
    policy = policy_for_spaces(spec.observation_space, spec.action_space, config)
    strong, weak = league.add_snapshot(policy, 0), league.add_snapshot(policy, 1)
    for _ in range(50):
        league.record(strong, 0.0)
        league.record(weak, 1.0)
    ids, p = league.probabilities()
    assert p[ids.index(strong)] > 0.95


def test_self_play_beats_a_random_player_moving_first_and_second():
    from sailfish.commands.eval import play_match
    from sailfish.league import train_self_play

    # 600k steps (half of them the learner's moves) is ~20 s on 2 cores. Over seeds 0-2 this budget won
    # 0.935-0.965 of its games vs random moving first and 0.915-0.965 moving second (random play: ~0.5)
    # once the policy acted under connect4's legal-move masks; before, illegal moves lost 4-8% of games.
    config = _config(num_envs=256, rollout_steps=32, minibatch_size=2048, torch_threads=1, total_steps=600_000,
                     checkpoint_interval=0)
    trainer, league = train_self_play(config, LeagueConfig(snapshot_interval=10, power=0.0, bots=["random"]))
    assert league.games > 10_000 and len(league.entries) == 9

    def make_side(first, n):
        return sailfish.make("connect4", num_envs=n, seed=7 + first, log_interval=0, agent_first=float(first),
                             opponent=2)

    counts = play_match(make_side, trainer.policy.eval(), 400, deterministic=True)
    rates = {side: c[0] / c.sum() for side, c in counts.items()}
    assert rates["first"] >= 0.9 and rates["second"] >= 0.9, rates


def test_self_play_stops_at_its_wallclock_budget_with_its_league_saved(tmp_path):
    from sailfish.league import train_self_play
    from sailfish.league.self_play import LEAGUE_FILE

    config = _config(total_steps=10**12, max_seconds=1.0, runs_dir=str(tmp_path), torch_threads=1)
    trainer, league = train_self_play(config, LeagueConfig(snapshot_interval=2), plot=False)
    assert trainer.finished() and trainer.global_step < 10**12 and trainer.budget_clock >= 1.0
    saved = load_checkpoint(trainer.run_dir / LEAGUE_FILE)
    assert saved["update"] == trainer.update_count and saved["league"]["games"] == league.games > 0


def test_train_cli_self_play_resumes_its_league(tmp_path):
    import csv
    import subprocess
    import sys

    def train(*extra):
        cmd = [sys.executable, "-m", "sailfish", "train", "connect4", "--self-play", "--quiet", "--num-envs", "32",
               "--minibatch-size", "256", "--torch-threads", "1", "--runs-dir", str(tmp_path), *extra]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    train("--total-steps", "20000")
    (run,) = tmp_path.iterdir()
    first = load_checkpoint(run / "league.pt")["league"]
    assert first["games"] > 0 and any(e["name"] == "bot:random" for e in first["entries"].values())
    train("--resume", str(run), "--total-steps", "40000")
    second = load_checkpoint(run / "league.pt")["league"]
    assert second["games"] > first["games"] and second["next_id"] > first["next_id"]
    with open(run / "league.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == sorted(steps) and steps[-1] >= 40_000 and steps[0] < 20_000  # one file over both sessions
    assert (run / "league_rating.png").is_file()


def test_a_checkpoint_in_the_league_is_reread_on_restore(tmp_path):
    spec = sailfish.envs.spec("connect4", players=2)
    config = _config()
    policy = policy_for_spaces(spec.observation_space, spec.action_space, config)
    save_checkpoint(tmp_path / "other", 3, {"policy": policy.state_dict(), "config": config.to_dict()})
    lc = LeagueConfig(checkpoints=[str(tmp_path / "other")])
    make = lambda: League(lc, policy_for_spaces(spec.observation_space, spec.action_space, config),  # noqa: E731
                          spec.action_space, "connect4", spec.observation_space)
    league = make()
    (uid,) = league.entries
    restored = make()
    restored.load_state_dict(load_checkpoint(save_league(league, tmp_path, 0))["league"])
    obs = torch.zeros(4, 49)
    with torch.inference_mode():
        assert torch.equal(restored.opponent(uid).policy(obs, None)[0], policy(obs, None)[0])


def test_alternate_seats_moves_the_learner_to_the_other_row_after_each_game():
    # connect4 alternates the first move itself, so alternating seats too puts the learner first every game
    env = OpponentEnv(_c4(num_envs=4), 1, RandomLegalOpponent(slice(42, 49), seed=1), alternate_seats=True)
    env.reset(seed=0)
    starts, first = np.ones(4, bool), []
    for _ in range(200):
        first += list(env.masks[starts])
        _, _, term, trunc, _ = env.step(np.argmax(env.observations[:, 42:] > 0, 1).astype(np.int32))
        starts = term | trunc
    assert len(first) > 20 and all(first)
    env.close()


def _bot_match(first, second, games=200, num_envs=64):
    """Outcomes of ``first`` (row 0) against ``second`` (row 1) on a 2-row connect4: [wins, draws, losses] of row 0."""
    env = _c4(num_envs=num_envs, seed=5)
    obs, _ = env.reset()
    counts = np.zeros(3, np.int64)
    while counts.sum() < games:
        actions = np.zeros(env.num_rows, np.int32)
        masks = torch.from_numpy(env.action_masks)
        for row, bot in ((0, first), (1, second)):
            actions[row::2] = bot.act(torch.from_numpy(obs[row::2]), masks[row::2]).numpy()
        obs, rewards, terminals, *_ = env.step(actions)
        ended = terminals[0::2].astype(bool)
        r = rewards[0::2][ended]
        counts += [(r > 0).sum(), (r == 0).sum(), (r < 0).sum()]
    env.close()
    return counts


def test_connect4s_c_bots_play_per_row_and_keep_their_strength_order():
    # The env's own one-ply and minimax bots, each row decided from its observation alone (rules and
    # sanitizers: tests/native/connect4_bot_check.c); here their strength through the binding.
    from sailfish.league.opponents import Connect4Bot, scripted_bot

    assert scripted_bot("connect4", "minimax4").name == "bot:minimax4"
    with pytest.raises(ValueError, match="bot:minimax<depth>"):
        scripted_bot("connect4", "minimax11")
    random_bot = scripted_bot("connect4", "random", seed=1)
    onestep = _bot_match(Connect4Bot("onestep", seed=2), random_bot)
    assert onestep[0] / onestep.sum() >= 0.85, onestep  # random against random: about half
    minimax = _bot_match(Connect4Bot("minimax", 4, seed=3), Connect4Bot("onestep", seed=4))
    assert minimax[0] > 2 * minimax[2], minimax
    # the same seed plays the same games
    assert np.array_equal(_bot_match(Connect4Bot("onestep", seed=2), scripted_bot("connect4", "random", seed=1)),
                          onestep)


def test_a_league_keeps_connect4s_c_bots_in_its_pool_and_rates_their_games():
    from sailfish.league import train_self_play

    config = _config(num_envs=32, rollout_steps=32, minibatch_size=256, torch_threads=1, total_steps=32 * 32 * 4,
                     checkpoint_interval=0)
    trainer, league = train_self_play(config, LeagueConfig(snapshot_interval=2, power=0.0,
                                                           bots=["onestep", "minimax2"]), plot=False)
    bots = {e["name"]: uid for uid, e in league.entries.items() if e["kind"] == "bot"}
    assert set(bots) == {"bot:onestep", "bot:minimax2"}
    played = {name: league.entries[uid]["games"] for name, uid in bots.items()}
    assert all(n > 0 for n in played.values()), played
    # rated: their ratings moved from openskill's prior
    prior = league.model.rating()
    assert all(league.entries[uid]["mu"] != prior.mu for uid in bots.values())
