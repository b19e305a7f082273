"""Rule tests for breakout and breakout_pixels: a known state and action give a known result."""
import math

import numpy as np
import pytest

import sailfish

STAY, LEFT, RIGHT = range(3)
W, H, PADDLE_Y, BALL_R, PADDLE_SPEED = 144.0, 144.0, 132.0, 1.5, 4.0
BRICK_TOP, BRICK_W, BRICK_H, ROWS, COLS = 24.0, 8.0, 6.0, 6, 18
FULL_ROW = (1 << COLS) - 1
ROW_POINTS = [7, 7, 4, 4, 1, 1]
HEAD = 6
MAX_SPEED = 3.6


def breakout(name="breakout", **config):
    env = sailfish.make(name, num_envs=1, seed=0, log_interval=0, **config)
    env.reset()
    return env


def put(env, rows=(FULL_ROW,) * ROWS, **fields):
    state = dict(paddle_x=72.0, ball_x=72.0, ball_y=100.0, ball_vx=0.0, ball_vy=2.0, lives=5, points=0, hits=0,
                 reached_orange=0, reached_red=0, walls_cleared=0, steps=0)
    state.update({f"bricks_row{r}": float(mask) for r, mask in enumerate(rows)})
    state.update(fields)
    env.set_state(0, **state)


def act(env, a):
    obs, rewards, terminals, truncations, _ = env.step(np.array([a], np.int32))
    return obs[0].copy(), float(rewards[0]), bool(terminals[0]), bool(truncations[0])


def brick_centre(row, col):
    return (col + 0.5) * BRICK_W, BRICK_TOP + (row + 0.5) * BRICK_H


def test_breakout_starts_with_a_full_wall_and_all_lives():
    env = breakout()
    obs = env.observations[0]
    assert obs.shape == (HEAD + ROWS * COLS,) and np.all(obs[HEAD:] == 1.0)
    assert obs[0] == pytest.approx(0.5) and obs[5] == 1.0
    s = env.get_state(0)
    assert s["lives"] == 5 and s["ball_vy"] > 0 and s["ball_y"] == 80.0
    assert all(s[f"bricks_row{r}"] == FULL_ROW for r in range(ROWS))
    assert env.single_observation_space.contains(obs)


def test_breakout_set_state_rewrites_the_observation():
    env = breakout()
    put(env, rows=(0, 1, 0, 0, 0, FULL_ROW), paddle_x=36.0, ball_x=72.0, ball_y=72.0, ball_vx=-1.8, ball_vy=3.6, lives=2)
    obs = env.observations[0]
    assert obs[:HEAD].tolist() == pytest.approx([0.25, 0.5, 0.5, -0.5, 1.0, 0.4])
    bricks = obs[HEAD:].reshape(ROWS, COLS)
    assert bricks.sum() == 1 + COLS and bricks[1, 0] == 1 and bricks[5].all()


@pytest.mark.parametrize("action,dx", [(STAY, 0.0), (LEFT, -PADDLE_SPEED), (RIGHT, PADDLE_SPEED)])
def test_breakout_paddle_moves_with_the_action(action, dx):
    env = breakout()
    put(env, paddle_x=50.0)
    obs, reward, terminal, truncated = act(env, action)
    assert env.get_state(0)["paddle_x"] == 50.0 + dx and obs[0] == pytest.approx((50.0 + dx) / W)
    assert (reward, terminal, truncated) == (0.0, False, False)


def test_breakout_paddle_stays_inside_the_field():
    env = breakout(paddle_width=24)
    put(env, paddle_x=14.0)
    act(env, LEFT)
    assert env.get_state(0)["paddle_x"] == 12.0
    put(env, paddle_x=130.0)
    act(env, RIGHT)
    assert env.get_state(0)["paddle_x"] == W - 12.0


@pytest.mark.parametrize("offset", [-1.0, -0.5, 0.0, 0.25, 0.75, 1.0])
def test_breakout_ball_bounces_off_the_paddle_at_the_documented_angle(offset):
    """angle = offset * 60 degrees from straight up, offset = (ball_x - paddle_x) / (width / 2 + r)."""
    env = breakout(paddle_width=24)
    ball_x = 72.0 + offset * (12.0 + BALL_R)
    put(env, paddle_x=72.0, ball_x=ball_x, ball_y=129.0, ball_vx=0.0, ball_vy=2.0)
    obs, reward, terminal, _ = act(env, STAY)
    s = env.get_state(0)
    angle = offset * math.pi / 3
    assert (reward, terminal) == (0.0, False)
    assert s["ball_y"] == PADDLE_Y - BALL_R and s["ball_x"] == pytest.approx(ball_x) and s["hits"] == 1
    assert s["ball_vx"] == pytest.approx(2.0 * math.sin(angle), abs=1e-5)
    assert s["ball_vy"] == pytest.approx(-2.0 * math.cos(angle), abs=1e-5)
    assert obs[4] == pytest.approx(-2.0 * math.cos(angle) / MAX_SPEED, abs=1e-5)


def test_breakout_ball_past_the_paddle_edge_falls_through():
    env = breakout(paddle_width=24)
    put(env, paddle_x=72.0, ball_x=72.0 + 12.0 + BALL_R + 0.5, ball_y=129.0, ball_vy=2.0)
    act(env, STAY)
    s = env.get_state(0)
    assert s["ball_y"] == 131.0 and s["ball_vy"] == 2.0 and s["hits"] == 0


def test_breakout_ball_speeds_up_after_four_and_twelve_hits():
    env = breakout()
    for hits_before, speed in [(2, 2.0), (3, 2.4), (11, 2.8)]:
        put(env, ball_y=129.0, hits=hits_before)
        act(env, STAY)
        assert env.get_state(0)["ball_vy"] == pytest.approx(-speed)


def test_breakout_ball_bounces_off_the_side_and_top_walls():
    env = breakout()
    put(env, rows=(0,) * ROWS, ball_x=2.0, ball_y=2.0, ball_vx=-1.0, ball_vy=-1.0)
    act(env, STAY)
    s = env.get_state(0)
    assert (s["ball_x"], s["ball_y"], s["ball_vx"], s["ball_vy"]) == (2.0, 2.0, 1.0, 1.0)
    put(env, rows=(0,) * ROWS, ball_x=W - 2.0, ball_y=100.0, ball_vx=1.0, ball_vy=1.0)
    act(env, STAY)
    s = env.get_state(0)
    assert (s["ball_x"], s["ball_vx"]) == (W - 2.0, -1.0)


@pytest.mark.parametrize("row", range(ROWS))
def test_breakout_brick_gives_its_points_once_and_disappears(row):
    env = breakout()
    rows = [FULL_ROW if r <= row else 0 for r in range(ROWS)]  # the rows below are already cleared
    x, _ = brick_centre(row, 3)
    y = BRICK_TOP + (row + 1) * BRICK_H + BALL_R + 1.0  # 1 unit below the brick, moving up by 2
    reached = dict(reached_orange=1, reached_red=1)  # no speed-up in this test
    put(env, rows=rows, ball_x=x, ball_y=y, ball_vy=-2.0, **reached)
    obs, reward, terminal, _ = act(env, STAY)
    s = env.get_state(0)
    assert reward == pytest.approx(ROW_POINTS[row] / 7) and not terminal
    assert s["points"] == ROW_POINTS[row]
    assert s[f"bricks_row{row}"] == FULL_ROW & ~(1 << 3)
    assert obs[HEAD + row * COLS + 3] == 0.0 and obs[HEAD:].sum() == (row + 1) * COLS - 1
    assert s["ball_y"] == y and s["ball_vy"] == 2.0  # stays put on that axis, vy flips
    # The same shot again passes through the gap: nothing more to earn.
    put(env, rows=[s[f"bricks_row{r}"] for r in range(ROWS)], ball_x=x, ball_y=y, ball_vy=-2.0, **reached)
    _, reward, _, _ = act(env, STAY)
    assert reward == 0.0 and env.get_state(0)["ball_y"] == y - 2.0


def test_breakout_brick_hit_from_the_side_flips_vx():
    env = breakout()
    x, y = brick_centre(5, 5)
    put(env, rows=(0, 0, 0, 0, 0, 1 << 5 | 1 << 10), ball_x=x - 4.0 - BALL_R - 0.5, ball_y=y, ball_vx=1.0, ball_vy=0.0,
        reached_orange=1, reached_red=1)
    _, reward, _, _ = act(env, STAY)
    s = env.get_state(0)
    assert reward == pytest.approx(1 / 7) and s["ball_vx"] == -1.0 and s["ball_x"] == x - 4.0 - BALL_R - 0.5


def test_breakout_first_orange_and_red_bricks_speed_the_ball_up():
    env = breakout()
    x, _ = brick_centre(3, 0)
    y = BRICK_TOP + 4 * BRICK_H + BALL_R + 1.0
    put(env, rows=(FULL_ROW,) * 4 + (0, 0), ball_x=x, ball_y=y, ball_vy=-2.0)
    act(env, STAY)
    s = env.get_state(0)
    assert s["reached_orange"] == 1 and s["reached_red"] == 0 and s["ball_vy"] == pytest.approx(2.4)
    x, _ = brick_centre(1, 0)
    y = BRICK_TOP + 2 * BRICK_H + BALL_R + 1.0
    put(env, rows=(FULL_ROW,) * 2 + (0,) * 4, ball_x=x, ball_y=y, ball_vy=-2.4, reached_orange=1)
    act(env, STAY)
    assert env.get_state(0)["ball_vy"] == pytest.approx(2.8)


def test_breakout_lost_ball_costs_a_life_and_serves_again():
    env = breakout()
    put(env, paddle_x=20.0, ball_x=100.0, ball_y=143.0, ball_vy=2.0, lives=3)
    obs, reward, terminal, truncated = act(env, STAY)
    s = env.get_state(0)
    assert (reward, terminal, truncated) == (0.0, False, False)
    assert s["lives"] == 2 and s["ball_y"] == 80.0 and s["ball_vy"] > 0 and 36 <= s["ball_x"] <= 108
    assert obs[5] == pytest.approx(2 / 5)


def test_breakout_losing_the_last_life_is_terminal():
    env = breakout()
    put(env, paddle_x=20.0, ball_x=100.0, ball_y=143.0, ball_vy=2.0, lives=1, points=30, steps=499, walls_cleared=1)
    obs, reward, terminal, truncated = act(env, STAY)
    assert (reward, terminal, truncated) == (0.0, True, False)
    assert np.all(obs[HEAD:] == 1.0) and obs[5] == 1.0  # already the next episode
    assert env.get_state(0)["lives"] == 5 and env.get_state(0)["points"] == 0
    assert env.episode_stats() == {"episodes": 1, "episode_return": pytest.approx(30 / 7), "episode_length": 500.0,
                                   "score": 30.0, "walls_cleared": 1.0}


def test_breakout_clearing_the_wall_rebuilds_it_and_twice_ends_the_game():
    env = breakout()
    x, _ = brick_centre(5, 3)
    y = BRICK_TOP + 6 * BRICK_H + BALL_R + 1.0
    last_brick = (0, 0, 0, 0, 0, 1 << 3)
    put(env, rows=last_brick, ball_x=x, ball_y=y, ball_vy=-2.0)
    obs, reward, terminal, _ = act(env, STAY)
    s = env.get_state(0)
    assert reward == pytest.approx(1 / 7) and not terminal
    assert s["walls_cleared"] == 1 and np.all(obs[HEAD:] == 1.0) and s["ball_y"] == 80.0
    put(env, rows=last_brick, ball_x=x, ball_y=y, ball_vy=-2.0, walls_cleared=1, points=863)
    _, reward, terminal, truncated = act(env, STAY)
    assert reward == pytest.approx(1 / 7) and (terminal, truncated) == (True, False)
    stats = env.episode_stats()
    assert stats["walls_cleared"] == 2.0 and stats["score"] == 864.0


def test_breakout_is_truncated_at_max_steps():
    env = breakout(max_steps=10)
    put(env, steps=8)
    assert act(env, STAY)[2:] == (False, False)
    assert act(env, STAY)[2:] == (False, True)
    assert env.episode_stats()["episode_length"] == 10.0


def test_breakout_frameskip_repeats_the_action():
    env = breakout(frameskip=4)
    put(env, paddle_x=60.0, ball_y=100.0, ball_vy=2.0)
    act(env, RIGHT)
    s = env.get_state(0)
    assert s["paddle_x"] == 76.0 and s["ball_y"] == 108.0 and s["steps"] == 1


def test_breakout_random_play_scores_low():
    env = sailfish.make("breakout", num_envs=256, seed=0, log_interval=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(2000):
        obs, *_ = env.step(rng.integers(0, 3, 256).astype(np.int32))
    assert env.single_observation_space.contains(obs[0])
    stats = env.episode_stats()
    assert stats["episodes"] > 500 and stats["score"] < 10 and stats["walls_cleared"] == 0.0


def test_breakout_a_ball_tracking_paddle_clears_walls():
    """The game is winnable by play that follows the ball: what training must discover."""
    env = sailfish.make("breakout", num_envs=32, seed=0, log_interval=0, max_steps=20000)
    obs, _ = env.reset()
    for _ in range(20000):
        d = obs[:, 1] + 0.02 - obs[:, 0]
        obs, *_ = env.step(np.where(d < -0.01, LEFT, np.where(d > 0.01, RIGHT, STAY)).astype(np.int32))
    assert env.episode_stats()["walls_cleared"] >= 0.5


# ---------------------------------------------------------------- breakout_pixels
def test_breakout_pixels_observes_a_channel_first_grayscale_frame():
    env = breakout("breakout_pixels")
    assert env.single_observation_space.shape == (1, 48, 48) and env.single_observation_space.dtype == np.uint8
    frame = env.observations[0, 0]
    assert np.all(frame[8:20] > 0)  # six brick rows of two pixels
    assert frame[8, 0] == 190 and frame[18, 0] == 90
    assert np.all(frame[44, 20:28] == 220)  # the paddle, 24 units wide at the centre
    assert (frame == 255).sum() >= 1  # the ball


def test_breakout_pixels_follows_the_same_rules_as_breakout():
    vec, pix = (sailfish.make(n, num_envs=8, seed=3, log_interval=0) for n in ("breakout", "breakout_pixels"))
    vec.reset()
    pix.reset()
    rng = np.random.default_rng(0)
    for _ in range(500):
        a = rng.integers(0, 3, 8).astype(np.int32)
        _, r1, t1, _, _ = vec.step(a)
        _, r2, t2, _, _ = pix.step(a)
        assert np.array_equal(r1, r2) and np.array_equal(t1, t2)
    assert all(vec.get_state(i) == pix.get_state(i) for i in range(8))


def test_breakout_pixels_drawn_step_by_step_matches_a_full_redraw():
    env = sailfish.make("breakout_pixels", num_envs=16, seed=1, log_interval=0)
    env.reset()
    rng = np.random.default_rng(1)
    for _ in range(1500):
        env.step(rng.integers(0, 3, 16).astype(np.int32))
    incremental = env.observations.copy()
    for i in range(16):
        env.set_state(i, **env.get_state(i))  # set_state draws the whole frame
    assert np.array_equal(incremental, env.observations)


def test_breakout_pixels_broken_brick_goes_dark():
    env = breakout("breakout_pixels")
    x, _ = brick_centre(5, 3)
    put(env, ball_x=x, ball_y=BRICK_TOP + 6 * BRICK_H + BALL_R + 1.0, ball_vy=-2.0)
    assert env.observations[0, 0, 18:20, 9].tolist() == [90, 90]
    act(env, STAY)
    frame = env.observations[0, 0]
    assert frame[18:20, 9].tolist() == [0, 0] and frame[18, 7] == 90 and frame[18, 12] == 90


@pytest.mark.parametrize("name", ["breakout", "breakout_pixels"])
def test_breakout_renders_bricks_paddle_and_ball(name):
    env = breakout(name)
    frame = env.render(0)
    assert frame.shape == (288, 288, 3) and frame.dtype == np.uint8
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) >= 8
