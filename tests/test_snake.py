"""Rule tests for snake: from a known arena and actions, the known moves, rewards and deaths."""
import numpy as np
import pytest

import sailfish

UP, DOWN, LEFT, RIGHT = range(4)
EMPTY, FOOD, WALL, BODY, HEAD, OWN = range(6)
R = 5  # default vision: 11 x 11 windows, the head at [5, 5]


def arena(snakes=1, food=0, **config):
    env = sailfish.make("snake", num_envs=1, seed=0, log_interval=0, snakes=snakes, food=food,
                        width=12, height=10, **config)
    env.reset()
    env.set_state(0, clear=1)
    return env


def place(env, snake, row, col, direction, length=1, lifetime=0):
    env.set_state(0, select=snake, place=1, alive=1, head_row=row, head_col=col, direction=direction,
                  length=length, lifetime=lifetime)


def step(env, *actions):
    obs, rewards, terminals, truncations, _ = env.step(np.array(actions, np.int32))
    return obs, rewards.tolist(), terminals.tolist(), truncations.tolist()


def snake(env, i, index=0):
    env.set_state(index, select=i)
    s = env.get_state(index)
    return int(s["head_row"]), int(s["head_col"]), int(s["length"]), bool(s["alive"])


def test_snake_reset_spawns_every_snake_and_the_food():
    env = sailfish.make("snake", num_envs=3, seed=0, log_interval=0, snakes=20, food=30)
    obs, _ = env.reset()
    assert obs.shape == (60, 11, 11) and obs.dtype == np.uint8
    assert np.all(obs[:, R, R] == OWN) and np.all((obs == OWN).sum(axis=(1, 2)) == 1)
    for i in range(3):
        assert env.get_state(i)["food"] == 30
        assert all(snake(env, k, i)[2:] == (1, True) for k in range(20))


@pytest.mark.parametrize("action,expected", [(UP, (3, 6)), (DOWN, (5, 6)), (LEFT, (4, 5)), (RIGHT, (4, 7))])
def test_snake_moves_one_cell_in_the_absolute_direction(action, expected):
    env = arena()
    place(env, 0, 4, 6, UP)
    obs, rewards, terminals, truncations = step(env, action)
    assert (rewards, terminals, truncations) == ([0.0], [False], [False])
    assert snake(env, 0) == (*expected, 1, True)
    assert obs[0, R, R] == OWN and (obs[0] == OWN).sum() == 1


def test_snake_observation_is_egocentric_with_walls_food_and_other_snakes():
    env = arena(snakes=2)
    place(env, 0, 1, 2, RIGHT, length=2)          # head (1, 2), body (1, 1)
    place(env, 1, 3, 4, DOWN, length=3)           # head (3, 4), body (2, 4), (1, 4)
    env.set_state(0, food_row=0, food_col=3)
    grid = env.observations[0]
    assert grid[R, R] == OWN and grid[R, R - 1] == OWN
    assert grid[R - 1, R + 1] == FOOD               # (0, 3)
    assert np.all(grid[R - 2, :] == WALL)           # row -1 is the wall above the arena
    assert np.all(grid[:, R - 3] == WALL)           # column -1
    assert grid[R, R + 2] == BODY and grid[R + 1, R + 2] == BODY and grid[R + 2, R + 2] == HEAD
    other = env.observations[1]
    assert other[R, R] == OWN and other[R - 1, R] == OWN and other[R - 2, R] == OWN
    assert other[R - 2, R - 2] == HEAD and other[R - 2, R - 3] == BODY


def test_snake_reversing_into_the_neck_keeps_going():
    env = arena()
    place(env, 0, 4, 6, RIGHT, length=3)
    step(env, LEFT)
    assert snake(env, 0) == (4, 7, 3, True)


def test_snake_of_length_one_may_turn_back():
    env = arena()
    place(env, 0, 4, 6, RIGHT)
    step(env, LEFT)
    assert snake(env, 0) == (4, 5, 1, True)


def test_snake_eating_food_pays_one_and_grows_by_one():
    env = arena()
    place(env, 0, 4, 6, RIGHT, length=2)
    env.set_state(0, food_row=4, food_col=7)
    assert env.get_state(0)["food"] == 1
    obs, rewards, terminals, _ = step(env, RIGHT)
    assert (rewards, terminals) == ([1.0], [False])
    assert snake(env, 0) == (4, 7, 3, True) and env.get_state(0)["food"] == 0
    assert obs[0, R, R - 2] == OWN  # the tail stayed at (4, 5)
    _, rewards, _, _ = step(env, RIGHT)
    assert rewards == [0.0] and snake(env, 0) == (4, 8, 3, True)


def test_snake_food_is_topped_up_after_a_step():
    env = arena(food=5)
    place(env, 0, 4, 6, RIGHT)
    assert env.get_state(0)["food"] == 0
    step(env, RIGHT)
    assert env.get_state(0)["food"] == 5
    frame = env.render(0)
    assert frame.shape == env.spec_.render_shape == (10 * 10, 12 * 10, 3)
    assert (frame == [235, 70, 70]).all(axis=2).sum() == 5 * 8 * 8  # five food cells


def test_snake_hitting_the_wall_dies_and_respawns_in_the_same_step():
    env = arena()
    place(env, 0, 0, 3, UP, lifetime=7)
    obs, rewards, terminals, truncations = step(env, UP)
    assert (rewards, terminals, truncations) == ([-1.0], [True], [False])
    head_row, head_col, length, alive = snake(env, 0)
    assert alive and length == 1 and env.get_state(0)["lifetime"] == 0
    assert obs[0, R, R] == OWN and (obs[0] == OWN).sum() == 1  # the next life's first observation
    stats = env.episode_stats()
    assert stats == {"episodes": 1, "episode_return": -1.0, "episode_length": 8.0, "score": 1.0}


def test_snake_running_into_its_own_body_dies():
    env = arena()
    place(env, 0, 5, 5, RIGHT, length=5)  # body (5, 1) .. (5, 5)
    for a in (DOWN, LEFT):
        assert step(env, a)[1] == [0.0]
    _, rewards, terminals, _ = step(env, UP)  # (5, 4) is still body
    assert (rewards, terminals) == ([-1.0], [True])


def test_snake_may_move_into_the_cell_its_tail_leaves():
    env = arena()
    place(env, 0, 5, 5, RIGHT, length=4)  # body (5, 2) .. (5, 5)
    for a in (DOWN, LEFT):
        step(env, a)
    _, rewards, terminals, _ = step(env, UP)  # (5, 4) is the tail, which moves on this step
    assert (rewards, terminals) == ([0.0], [False]) and snake(env, 0) == (5, 4, 4, True)


def test_snake_running_into_another_snake_dies_and_the_other_lives():
    env = arena(snakes=2)
    place(env, 0, 6, 2, RIGHT)
    place(env, 1, 5, 3, UP, length=3)  # head (5, 3), body (6, 3), (7, 3)
    _, rewards, terminals, _ = step(env, RIGHT, LEFT)  # 0 moves first, into 1's body
    assert (rewards, terminals) == ([-1.0, 0.0], [True, False])
    assert snake(env, 1) == (5, 2, 3, True)


def test_snake_head_on_race_goes_to_the_lower_index():
    env = arena(snakes=2)
    place(env, 0, 4, 3, RIGHT)
    place(env, 1, 4, 5, LEFT)
    _, rewards, terminals, _ = step(env, RIGHT, LEFT)  # both want (4, 4)
    assert (rewards, terminals) == ([0.0, -1.0], [False, True])
    assert snake(env, 0) == (4, 4, 1, True)


def test_snake_long_life_is_truncated():
    env = arena(max_steps=10)
    place(env, 0, 4, 1, RIGHT, length=2, lifetime=9)
    _, rewards, terminals, truncations = step(env, RIGHT)
    assert (rewards, terminals, truncations) == ([0.0], [False], [True])
    assert snake(env, 0)[2:] == (1, True)
    assert env.episode_stats() == {"episodes": 1, "episode_return": 1.0, "episode_length": 10.0, "score": 2.0}


def test_snake_too_many_snakes_for_the_map_is_refused():
    with pytest.raises(ValueError, match="snakes"):
        sailfish.make("snake", width=8, height=8, snakes=30, food=10)


def test_snake_random_play_scores_low():
    env = sailfish.make("snake", num_envs=4, seed=0, log_interval=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(500):
        env.step(rng.integers(0, 4, env.num_envs).astype(np.int32))
    stats = env.episode_stats()
    assert stats["episodes"] > 100 and stats["score"] < 3.0 and stats["episode_return"] < 0.5


def test_snake_without_room_waits_off_the_map_masked_out():
    env = sailfish.make("snake", num_envs=1, seed=0, log_interval=0, snakes=9, food=0, width=8, height=8)
    env.reset()
    assert env.masks.all()
    env.set_state(0, clear=1)
    assert not env.masks.any() and not env.observations.any()
    for i in range(8):  # eight snakes of length 8 fill the 8 x 8 arena
        place(env, i, i, 7, RIGHT, length=8)
    assert env.masks.tolist() == [True] * 8 + [False]
    assert not env.observations[8].any() and snake(env, 8)[3] is False
    _, rewards, terminals, _ = step(env, *[RIGHT] * 8, UP)  # all eight hit the right wall
    assert rewards == [-1.0] * 8 + [0.0] and terminals == [True] * 8 + [False]
    assert env.masks.all()  # the room they left lets all nine respawn


def test_snake_arena_ends_at_its_horizon_truncating_every_life_still_going():
    env = arena(snakes=3, horizon=10)
    place(env, 0, 4, 3, RIGHT, length=3, lifetime=5)  # body (4, 1) .. (4, 3)
    place(env, 1, 0, 8, UP, lifetime=2)                # about to hit the top wall
    place(env, 2, 7, 7, DOWN, lifetime=1)
    env.set_state(0, arena_steps=8)
    _, rewards, terminals, truncations = step(env, RIGHT, UP, DOWN)  # the arena's ninth step
    assert (terminals, truncations) == ([False, True, False], [False, False, False])
    env.episode_stats()
    assert env.get_state(0)["arena_steps"] == 9
    _, rewards, terminals, truncations = step(env, RIGHT, LEFT, DOWN)  # the tenth and last
    assert rewards == [0.0, 0.0, 0.0] and terminals == [False, False, False] and truncations == [True] * 3
    s = env.get_state(0)
    assert s["arena_steps"] == 0  # a new arena
    assert all(snake(env, k)[2:] == (1, True) for k in range(3)) and env.masks.all()
    # the three lives ended by the arena: lengths 3, 1 (respawned after its death) and 1
    assert env.episode_stats() == {"episodes": 3, "episode_return": 2 / 3, "episode_length": (7 + 1 + 3) / 3,
                                   "score": 5 / 3}


def test_snake_a_death_on_the_arenas_last_step_stays_terminal():
    env = arena(snakes=2, horizon=5)
    place(env, 0, 0, 3, UP)
    place(env, 1, 6, 6, LEFT)
    env.set_state(0, arena_steps=4)
    _, rewards, terminals, truncations = step(env, UP, LEFT)
    assert (rewards, terminals, truncations) == ([-1.0, 0.0], [True, False], [False, True])
    assert env.episode_stats()["episodes"] == 2  # the death once, the truncated life once


def test_snake_without_a_horizon_the_arena_goes_on():
    env = arena(snakes=2)
    place(env, 0, 4, 1, RIGHT)
    for _ in range(3):
        _, _, terminals, truncations = step(env, RIGHT, UP)
        assert not any(truncations) and env.get_state(0)["arena_steps"] == 0  # not counted: nothing to end
    assert snake(env, 0)[:2] == (4, 4)


def test_render_teams_draws_the_two_sides_of_an_arena_in_two_colours():
    env = sailfish.make("snake", num_envs=1, snakes=4, render_teams=2, seed=0, log_interval=0)
    env.reset()
    colours = {tuple(c) for c in np.unique(env.render(0).reshape(-1, 3), axis=0)}
    env.close()
    assert {(70, 130, 255), (255, 160, 40)} <= colours  # blue snakes 0-1, orange snakes 2-3
    plain = sailfish.make("snake", num_envs=1, snakes=4, seed=0, log_interval=0)
    plain.reset()
    assert (70, 130, 255) not in {tuple(c) for c in np.unique(plain.render(0).reshape(-1, 3), axis=0)}
    plain.close()
