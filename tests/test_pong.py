"""Rule tests for pong: a known state and action give a known next state, reward and ending."""
import numpy as np
import pytest

import sailfish

STAY, UP, DOWN = range(3)
PADDLE_X, PADDLE_HALF, PADDLE_SPEED, BOUNCE, SPEEDUP = 0.95, 0.15, 0.05, 1.25, 1.05


def pong(**config):
    env = sailfish.make("pong", num_envs=1, seed=0, log_interval=0, **config)
    env.reset()
    return env


def put(env, **fields):
    state = dict(paddle_y=0.0, opponent_y=0.0, ball_x=0.0, ball_y=0.0, ball_vx=0.04, ball_vy=0.0,
                 agent_points=0, opponent_points=0, steps=0)
    state.update(fields)
    env.set_state(0, **state)


def act(env, a):
    obs, rewards, terminals, truncations, _ = env.step(np.array([a], np.int32))
    return obs[0].copy(), float(rewards[0]), bool(terminals[0]), bool(truncations[0])


def test_pong_serves_from_the_centre_towards_the_agent():
    env = pong(ball_speed=0.04)
    obs = env.observations[0]
    assert obs[:4].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert obs[4] == pytest.approx(0.04 / 0.08) and abs(obs[5]) <= 0.04 / 0.1
    assert env.single_observation_space.contains(obs)


def test_pong_set_state_rewrites_the_observation():
    env = pong()
    put(env, paddle_y=0.5, opponent_y=-0.25, ball_x=0.1, ball_y=-0.2, ball_vx=-0.08, ball_vy=0.05)
    assert env.observations[0].tolist() == pytest.approx([0.5, -0.25, 0.1, -0.2, -1.0, 0.5])


@pytest.mark.parametrize("action,dy", [(STAY, 0.0), (UP, -PADDLE_SPEED), (DOWN, PADDLE_SPEED)])
def test_pong_paddle_moves_with_the_action(action, dy):
    env = pong()
    put(env, paddle_y=0.2)
    obs, reward, terminal, truncated = act(env, action)
    assert env.get_state(0)["paddle_y"] == pytest.approx(0.2 + dy)
    assert obs[0] == pytest.approx(0.2 + dy)
    assert (reward, terminal, truncated) == (0.0, False, False)


def test_pong_paddle_stays_inside_the_field():
    env = pong()
    put(env, paddle_y=0.84)
    act(env, DOWN)
    assert env.get_state(0)["paddle_y"] == pytest.approx(1 - PADDLE_HALF)


def test_pong_opponent_chases_the_ball_at_a_capped_speed():
    env = pong(opponent_speed=0.03)
    put(env, opponent_y=0.0, ball_y=0.5)
    act(env, STAY)
    assert env.get_state(0)["opponent_y"] == pytest.approx(0.03)
    put(env, opponent_y=0.49, ball_y=0.5)  # within reach: it stops on the ball
    act(env, STAY)
    assert env.get_state(0)["opponent_y"] == pytest.approx(0.5)


def test_pong_ball_bounces_off_the_top_and_bottom_walls():
    env = pong()
    put(env, ball_y=0.98, ball_vy=0.05)
    act(env, STAY)
    s = env.get_state(0)
    assert (s["ball_y"], s["ball_vy"]) == (pytest.approx(0.97), pytest.approx(-0.05))
    put(env, ball_y=-0.99, ball_vy=-0.03)
    act(env, STAY)
    s = env.get_state(0)
    assert (s["ball_y"], s["ball_vy"]) == (pytest.approx(-0.98), pytest.approx(0.03))


@pytest.mark.parametrize("offset", [-0.9, -0.5, 0.0, 0.5, 0.9])
def test_pong_ball_bounces_off_the_paddle_at_the_documented_angle(offset):
    """vy = 1.25 * offset * |vx|, |vx| grown by 5%; offset = (ball_y - paddle_y) / half-height."""
    env = pong()
    put(env, paddle_y=0.3, ball_x=0.93, ball_y=0.3 + offset * PADDLE_HALF, ball_vx=0.04, ball_vy=0.0)
    obs, reward, terminal, _ = act(env, STAY)
    s = env.get_state(0)
    speed = 0.04 * SPEEDUP
    assert (reward, terminal) == (0.0, False)
    assert s["ball_x"] == pytest.approx(2 * PADDLE_X - 0.97)  # reflected about the paddle's plane
    assert s["ball_vx"] == pytest.approx(-speed)
    assert s["ball_vy"] == pytest.approx(BOUNCE * offset * speed, abs=1e-6)
    assert obs[5] == pytest.approx(BOUNCE * offset * speed / (BOUNCE * 0.08), abs=1e-5)


def test_pong_ball_speed_grows_to_a_cap():
    env = pong()
    put(env, ball_x=0.93, ball_vx=0.079)
    act(env, STAY)
    assert env.get_state(0)["ball_vx"] == pytest.approx(-0.08)


def test_pong_opponent_returns_the_ball_it_reaches():
    env = pong()
    put(env, opponent_y=0.0, ball_x=-0.93, ball_y=0.0, ball_vx=-0.04)
    _, reward, _, _ = act(env, STAY)
    s = env.get_state(0)
    assert reward == 0.0 and s["ball_vx"] == pytest.approx(0.04 * SPEEDUP) and s["ball_x"] > -PADDLE_X


def test_pong_agent_miss_costs_a_point_and_serves_again():
    env = pong(ball_speed=0.03)
    put(env, paddle_y=-0.5, ball_x=0.93, ball_y=0.5, ball_vx=0.04)
    obs, reward, terminal, truncated = act(env, STAY)
    s = env.get_state(0)
    assert (reward, terminal, truncated) == (-1.0, False, False)
    assert (s["agent_points"], s["opponent_points"]) == (0, 1)
    assert (s["ball_x"], s["ball_y"], s["ball_vx"]) == (0.0, 0.0, pytest.approx(0.03))
    assert abs(s["ball_vy"]) <= 0.03 and obs[2] == 0.0


def test_pong_opponent_miss_pays_a_point():
    env = pong(opponent_speed=0.0)
    put(env, opponent_y=0.8, ball_x=-0.93, ball_y=-0.5, ball_vx=-0.04)
    _, reward, terminal, _ = act(env, STAY)
    assert (reward, terminal) == (1.0, False)
    assert env.get_state(0)["agent_points"] == 1


def test_pong_the_winning_point_ends_the_episode_with_score_one():
    env = pong(points_to_win=3, opponent_speed=0.0)
    put(env, opponent_y=0.8, ball_x=-0.93, ball_y=-0.5, ball_vx=-0.04, agent_points=2, opponent_points=1, steps=99)
    obs, reward, terminal, truncated = act(env, STAY)
    assert (reward, terminal, truncated) == (1.0, True, False)
    s = env.get_state(0)  # already the next episode
    assert (s["agent_points"], s["opponent_points"], s["steps"], s["ball_x"]) == (0, 0, 0, 0.0)
    assert obs[:4].tolist() == [0.0, 0.0, 0.0, 0.0]
    # The return is counted from the points (3 - 1), set_state included.
    assert env.episode_stats() == {"episodes": 1, "episode_return": 2.0, "episode_length": 100.0, "score": 1.0,
                                   "agent_points": 3.0, "opponent_points": 1.0}


def test_pong_losing_the_last_point_ends_the_episode_with_score_zero():
    env = pong(points_to_win=2)
    put(env, paddle_y=-0.5, ball_x=0.93, ball_y=0.5, ball_vx=0.04, opponent_points=1)
    _, reward, terminal, _ = act(env, STAY)
    assert (reward, terminal) == (-1.0, True)
    stats = env.episode_stats()
    assert stats["score"] == 0.0 and stats["opponent_points"] == 2.0


def test_pong_is_truncated_at_max_steps():
    env = pong(max_steps=50)
    put(env, steps=48)
    assert act(env, STAY)[2:] == (False, False)
    assert act(env, STAY)[2:] == (False, True)
    assert env.episode_stats()["episode_length"] == 50.0 and env.get_state(0)["steps"] == 0


def test_pong_frameskip_repeats_the_action():
    env = pong(frameskip=3)
    put(env, paddle_y=0.0, ball_x=0.0, ball_vx=0.04)
    act(env, DOWN)
    s = env.get_state(0)
    assert s["paddle_y"] == pytest.approx(3 * PADDLE_SPEED) and s["ball_x"] == pytest.approx(0.12)
    assert s["steps"] == 1


def test_pong_random_play_almost_never_wins():
    env = sailfish.make("pong", num_envs=256, seed=0, log_interval=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(3000):
        env.step(rng.integers(0, 3, 256).astype(np.int32))
    stats = env.episode_stats()
    assert stats["episodes"] > 1000 and stats["score"] < 0.01 and stats["episode_return"] < -4.0


def test_pong_a_tracking_paddle_beats_the_opponent_sometimes():
    """The opponent is beatable: a hand-written tracker that aims off-centre wins most games."""
    env = sailfish.make("pong", num_envs=256, seed=0, log_interval=0)
    obs, _ = env.reset()
    for _ in range(3000):
        d = obs[:, 3] + 0.12 - obs[:, 0]
        obs, *_ = env.step(np.where(d < -0.03, UP, np.where(d > 0.03, DOWN, STAY)).astype(np.int32))
    assert env.episode_stats()["score"] > 0.5


def test_pong_renders_paddles_and_ball():
    env = pong()
    frame = env.render(0)
    assert frame.shape == (192, 192, 3) and frame.dtype == np.uint8
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) >= 4


# ---------------------------------------------------------------- players = 2: both paddles are agent rows
RIGHT, LEFT = 0, 1  # rows of a 2-player env (and the sides a serve goes to)


def pong2(**config):
    return pong(players=2, **config)


def act2(env, right, left):
    obs, rewards, terminals, truncations, _ = env.step(np.array([right, left], np.int32))
    return obs.copy(), rewards.tolist(), terminals.tolist(), truncations.tolist()


def mirrored(obs):
    """A row's observation as the other side sees the same field: paddles swapped, x and vx negated."""
    return np.array([obs[1], obs[0], -obs[2], obs[3], -obs[4], obs[5]], np.float32)


def test_pong_two_players_give_each_env_two_rows():
    env = sailfish.make("pong", num_envs=3, seed=0, log_interval=0, players=2)
    obs, _ = env.reset()
    assert env.agents_per_env == 2 and env.num_envs == 6 and obs.shape == (6, 6) and env.masks.all()


def test_pong_two_players_see_the_field_mirrored_from_their_own_side():
    env = pong2()
    put(env, paddle_y=0.5, opponent_y=-0.25, ball_x=0.1, ball_y=-0.2, ball_vx=-0.08, ball_vy=0.05)
    assert env.observations[RIGHT].tolist() == pytest.approx([0.5, -0.25, 0.1, -0.2, -1.0, 0.5])
    assert env.observations[LEFT].tolist() == pytest.approx([-0.25, 0.5, -0.1, -0.2, 1.0, 0.5])


def test_pong_two_players_first_serve_goes_to_the_right_row():
    env = pong2(ball_speed=0.04)
    s = env.get_state(0)
    assert s["ball_vx"] == pytest.approx(0.04) and (s["receiver"], s["first_receiver"]) == (RIGHT, RIGHT)
    # the ball comes at the right paddle (vx > 0 in its view) and goes away from the left (vx < 0 in its)
    assert env.observations[RIGHT][4] == pytest.approx(0.5) and env.observations[LEFT][4] == pytest.approx(-0.5)


def test_pong_two_players_each_paddle_moves_with_its_own_rows_action():
    env = pong2()
    put(env, paddle_y=0.2, opponent_y=0.0, ball_y=0.7)  # the scripted chase would move the left paddle down
    obs, rewards, terminals, truncations = act2(env, UP, UP)
    s = env.get_state(0)
    assert (s["paddle_y"], s["opponent_y"]) == (pytest.approx(0.2 - PADDLE_SPEED), pytest.approx(-PADDLE_SPEED))
    assert obs[RIGHT][:2] == pytest.approx([0.15, -0.05]) and obs[LEFT][:2] == pytest.approx([-0.05, 0.15])
    assert (rewards, terminals, truncations) == ([0.0, 0.0], [False, False], [False, False])
    act2(env, STAY, DOWN)
    assert env.get_state(0)["opponent_y"] == pytest.approx(0.0) and env.get_state(0)["paddle_y"] == pytest.approx(0.15)


def test_pong_two_players_left_paddle_returns_the_ball_it_reaches():
    env = pong2()
    put(env, opponent_y=0.3, ball_x=-0.93, ball_y=0.3 + 0.5 * PADDLE_HALF, ball_vx=-0.04)
    _, rewards, _, _ = act2(env, STAY, STAY)
    s = env.get_state(0)
    speed = 0.04 * SPEEDUP
    assert rewards == [0.0, 0.0]
    assert s["ball_x"] == pytest.approx(-2 * PADDLE_X + 0.97) and s["ball_vx"] == pytest.approx(speed)
    assert s["ball_vy"] == pytest.approx(BOUNCE * 0.5 * speed, abs=1e-6)


def test_pong_two_players_a_miss_costs_the_row_that_missed_and_pays_the_other():
    env = pong2(ball_speed=0.03)
    put(env, paddle_y=-0.5, ball_x=0.93, ball_y=0.5, ball_vx=0.04)  # the right paddle misses
    _, rewards, terminals, _ = act2(env, STAY, STAY)
    s = env.get_state(0)
    assert rewards == [-1.0, 1.0] and terminals == [False, False]
    assert (s["agent_points"], s["opponent_points"]) == (0, 1)
    put(env, opponent_y=0.8, ball_x=-0.93, ball_y=-0.5, ball_vx=-0.04, receiver=LEFT)  # the left one misses
    _, rewards, _, _ = act2(env, STAY, STAY)
    assert rewards == [1.0, -1.0] and env.get_state(0)["agent_points"] == 1


def test_pong_two_players_serves_alternate_between_the_sides():
    env = pong2(ball_speed=0.03)
    put(env, paddle_y=-0.5, ball_x=0.93, ball_y=0.5, ball_vx=0.04, receiver=RIGHT)
    act2(env, STAY, STAY)  # the right side lost the point, yet the next serve goes left: they alternate
    s = env.get_state(0)
    assert (s["ball_x"], s["ball_y"], s["ball_vx"], s["receiver"]) == (0.0, 0.0, pytest.approx(-0.03), LEFT)
    assert abs(s["ball_vy"]) <= 0.03
    put(env, paddle_y=-0.5, ball_x=0.93, ball_y=0.5, ball_vx=0.04)  # the right side loses again
    act2(env, STAY, STAY)
    s = env.get_state(0)
    assert (s["ball_vx"], s["receiver"]) == (pytest.approx(0.03), RIGHT)


def test_pong_two_players_each_episode_opens_with_a_serve_to_the_other_side():
    env = pong2(points_to_win=1, ball_speed=0.03)
    firsts = []
    for _ in range(3):
        put(env, paddle_y=-0.5, ball_x=0.93, ball_y=0.5, ball_vx=0.04)
        act2(env, STAY, STAY)  # the winning point: a new episode
        s = env.get_state(0)
        firsts.append((s["first_receiver"], s["receiver"], np.sign(s["ball_vx"])))
    assert firsts == [(LEFT, LEFT, -1.0), (RIGHT, RIGHT, 1.0), (LEFT, LEFT, -1.0)]


def test_pong_two_players_the_winning_point_ends_both_rows_and_scores_row_zero():
    env = pong2(points_to_win=3)
    put(env, paddle_y=-0.5, ball_x=0.93, ball_y=0.5, ball_vx=0.04, agent_points=1, opponent_points=2, steps=9)
    obs, rewards, terminals, truncations = act2(env, STAY, STAY)  # the left row wins 3-1
    assert rewards == [-1.0, 1.0] and terminals == [True, True] and truncations == [False, False]
    s = env.get_state(0)  # already the next episode
    assert (s["agent_points"], s["opponent_points"], s["steps"]) == (0, 0, 0)
    assert obs[:, :4].tolist() == [[0.0] * 4] * 2
    assert env.episode_stats() == {"episodes": 1, "episode_return": -2.0, "episode_length": 10.0, "score": 0.0,
                                   "agent_points": 1.0, "opponent_points": 3.0}
    put(env, opponent_y=0.8, ball_x=-0.93, ball_y=-0.5, ball_vx=-0.04, agent_points=2)
    _, rewards, terminals, _ = act2(env, STAY, STAY)  # now row 0 wins
    assert rewards == [1.0, -1.0] and terminals == [True, True] and env.episode_stats()["score"] == 1.0


def test_pong_two_players_are_truncated_together():
    env = pong2(max_steps=50)
    put(env, steps=49)
    _, rewards, terminals, truncations = act2(env, STAY, STAY)
    assert (rewards, terminals, truncations) == ([0.0, 0.0], [False, False], [True, True])


def test_pong_two_players_swapped_actions_on_a_mirrored_state_give_mirrored_outcomes():
    """The seats are mirror images: from a state and its mirror (paddles, points and serves swapped,
    x and vx negated), the same actions with the rows swapped give the mirrored run, bit for bit, over
    points, serves (the same generator draws) and episode ends."""
    a, b = pong2(points_to_win=2, ball_speed=0.06), pong2(points_to_win=2, ball_speed=0.06)
    put(a, paddle_y=0.3, opponent_y=-0.6, ball_x=0.2, ball_y=0.1, ball_vx=0.05, ball_vy=-0.02, agent_points=1)
    put(b, paddle_y=-0.6, opponent_y=0.3, ball_x=-0.2, ball_y=0.1, ball_vx=-0.05, ball_vy=-0.02, opponent_points=1,
        receiver=LEFT, first_receiver=LEFT)
    rng = np.random.default_rng(0)
    points = ends = 0
    for _ in range(3000):
        assert np.array_equal(a.observations[RIGHT], b.observations[LEFT])
        assert np.array_equal(a.observations[LEFT], b.observations[RIGHT])
        right, left = rng.integers(0, 3, 2)
        _, ra, ta, _ = act2(a, right, left)
        _, rb, tb, _ = act2(b, left, right)
        assert rb == ra[::-1] and ta == tb
        sa, sb = a.get_state(0), b.get_state(0)
        assert (sb["paddle_y"], sb["opponent_y"], sb["ball_x"], sb["ball_vx"]) == (
            sa["opponent_y"], sa["paddle_y"], -sa["ball_x"], -sa["ball_vx"])
        assert (sb["ball_y"], sb["ball_vy"], sb["receiver"]) == (sa["ball_y"], sa["ball_vy"], 1 - sa["receiver"])
        points += ra[0] != 0
        ends += ta[0]
    assert points > 20 and ends > 5  # the run went through serves and new episodes


def test_pong_two_players_refuse_a_scripted_opponent_speed():
    with pytest.raises(ValueError, match="opponent_speed: players = 2"):
        sailfish.make("pong", players=2, opponent_speed=0.05)
