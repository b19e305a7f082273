"""Rule tests for target: known state and acceleration give the known next state and reward."""
import numpy as np
import pytest

import sailfish

f32 = np.float32


def point(**config):
    env = sailfish.make("target", num_envs=1, seed=0, log_interval=0, **config)
    env.reset()
    return env


def push(env, ax, ay):
    obs, rewards, terminals, truncations, _ = env.step(np.array([[ax, ay]], np.float32))
    return obs[0], float(rewards[0]), bool(terminals[0]), bool(truncations[0])


def expected_move(x, v, a):
    """One axis of the documented dynamics, in float32 like the env."""
    v = f32(0.9) * f32(v) + f32(0.1) * f32(np.clip(a, -1, 1))
    return f32(x) + f32(0.05) * v, v


def test_target_starts_at_rest_with_a_far_target_inside_the_square():
    env = sailfish.make("target", num_envs=256, seed=0)
    obs, _ = env.reset()
    assert obs.shape == (256, 6) and obs.dtype == np.float32
    assert np.all(np.abs(obs[:, :2]) <= 0.9) and np.all(obs[:, 2:4] == 0)
    assert np.all(np.hypot(obs[:, 4], obs[:, 5]) >= 0.5 - 1e-6)
    assert env.single_action_space.shape == (2,) and env.single_action_space.dtype == np.float32


def test_target_acceleration_moves_the_point_and_pays_progress():
    env = point()
    env.set_state(0, x=0.0, y=0.0, vx=0.2, vy=-0.1, target_x=0.8, target_y=0.0, steps=0)
    obs, reward, terminal, truncated = push(env, 1.0, 0.5)
    x, vx = expected_move(0.0, 0.2, 1.0)
    y, vy = expected_move(0.0, -0.1, 0.5)
    assert obs.tolist() == pytest.approx([x, y, vx, vy, 0.8 - x, 0.0 - y], abs=1e-6)
    assert reward == pytest.approx(0.8 - np.hypot(0.8 - x, y), abs=1e-6)
    assert (terminal, truncated) == (False, False)
    assert env.get_state(0)["steps"] == 1


@pytest.mark.parametrize("a", [1e30, 3.0, -1e30, -7.5])
def test_target_actions_are_clipped_to_the_unit_box(a):
    env = point()
    env.set_state(0, x=0.0, y=0.0, vx=0.0, vy=0.0, target_x=0.8, target_y=0.8, steps=0)
    obs, *_ = push(env, a, -a)
    assert obs[2] == pytest.approx(0.1 * np.sign(a)) and obs[3] == pytest.approx(-0.1 * np.sign(a))


def test_target_wall_stops_the_point_and_zeroes_that_velocity():
    env = point()
    env.set_state(0, x=0.99, y=0.5, vx=1.0, vy=0.3, target_x=-0.5, target_y=0.0, steps=0)
    obs, *_ = push(env, 1.0, 0.0)
    y, vy = expected_move(0.5, 0.3, 0.0)
    assert obs[:4].tolist() == pytest.approx([1.0, y, 0.0, vy], abs=1e-6)


def test_target_reaching_the_disc_pays_one_and_starts_a_new_episode():
    env = point(radius=0.1)
    env.set_state(0, x=0.0, y=0.0, vx=0.0, vy=0.0, target_x=0.104, target_y=0.0, steps=4)
    obs, reward, terminal, truncated = push(env, 1.0, 0.0)  # to x = 0.005, 0.099 from the centre
    assert (terminal, truncated) == (True, False)
    assert reward == pytest.approx(1.0 + 0.005, abs=1e-6)
    assert obs[2:4].tolist() == [0.0, 0.0] and np.hypot(obs[4], obs[5]) >= 0.5  # the next episode
    stats = env.episode_stats()
    assert stats["score"] == 1.0 and stats["episode_length"] == 5.0
    assert stats["episode_return"] == pytest.approx(1.005, abs=1e-6)


def test_target_running_out_of_steps_truncates():
    env = point(max_steps=10)
    env.set_state(0, x=-0.5, y=-0.5, vx=0.0, vy=0.0, target_x=0.5, target_y=0.5, steps=9)
    _, reward, terminal, truncated = push(env, 0.0, 0.0)
    assert (reward, terminal, truncated) == (0.0, False, True)
    assert env.episode_stats()["score"] == 0.0


def test_target_state_is_clipped_to_the_observation_bounds():
    env = point()
    env.set_state(0, x=5.0, y=-5.0, vx=3.0, vy=float("nan"), target_x=-1.0, target_y=1.0, steps=0)
    assert env.observations[0].tolist() == [1.0, -1.0, 1.0, 0.0, -2.0, 2.0]
    assert env.observation_space.contains(env.observations)


def test_target_random_play_scores_low_and_steering_scores_high():
    env = sailfish.make("target", num_envs=512, seed=0, log_interval=0)
    obs, _ = env.reset()
    rng = np.random.default_rng(0)
    for _ in range(600):
        env.step(np.clip(rng.normal(0, 1, (512, 2)), -1, 1).astype(np.float32))
    random = env.episode_stats()
    assert random["score"] < 0.1 and random["episode_return"] < 0.2
    for _ in range(600):  # a proportional-derivative controller towards the target
        obs, *_ = env.step(np.clip(8 * obs[:, 4:6] - 4 * obs[:, 2:4], -1, 1).astype(np.float32))
    steering = env.episode_stats()
    assert steering["score"] > 0.95 and steering["episode_return"] > 1.5
