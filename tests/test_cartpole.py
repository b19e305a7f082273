"""cartpole against Gymnasium's CartPole-v1: same dynamics, termination and truncation."""
import gymnasium as gym
import numpy as np
import pytest

import sailfish

FIELDS = ("x", "x_dot", "theta", "theta_dot")


def set_native_state(env, state, steps=0):
    env.set_state(0, **dict(zip(FIELDS, map(float, state))), steps=steps)


def test_one_step_from_any_state_matches_gymnasium():
    reference = gym.make("CartPole-v1").unwrapped
    reference.reset(seed=0)
    env = sailfish.make("cartpole", num_envs=1)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(2000):
        state = rng.uniform([-2.3, -3, -0.2, -3], [2.3, 3, 0.2, 3]).astype(np.float32)
        action = int(rng.integers(0, 2))
        reference.state = state.astype(np.float64)
        reference.steps_beyond_terminated = None
        expected, reward, terminated, _, _ = reference.step(action)
        set_native_state(env, state)
        obs, rewards, terminals, truncations, _ = env.step(np.array([action], np.int32))
        assert rewards[0] == reward == 1.0
        assert terminals[0] == terminated and not truncations[0]
        if not terminated:  # on termination the observation is already the next episode's
            np.testing.assert_allclose(obs[0], expected, rtol=1e-5, atol=1e-6)


def test_trajectories_match_gymnasium_until_the_episode_ends():
    """Whole episodes under random play. (Long open-loop runs are no test: the upright pole is
    unstable, so float32 rounding grows exponentially; the one-step test covers every state.)"""
    reference = gym.make("CartPole-v1")
    env = sailfish.make("cartpole", num_envs=1)
    rng = np.random.default_rng(1)
    for episode in range(50):
        expected, _ = reference.reset(seed=episode)
        env.reset()
        set_native_state(env, expected)
        for t in range(500):
            action = int(rng.integers(0, 2))
            expected, reward, terminated, truncated, _ = reference.step(action)
            obs, rewards, terminals, truncations, _ = env.step(np.array([action], np.int32))
            assert (terminals[0], truncations[0]) == (terminated, truncated), f"episode {episode} step {t}"
            if terminated or truncated:
                break
            np.testing.assert_allclose(obs[0], expected, rtol=1e-4, atol=1e-5)


def test_a_balancing_policy_is_truncated_at_500_steps():
    env = sailfish.make("cartpole", num_envs=4, seed=0, log_interval=0)
    obs, _ = env.reset()
    for t in range(500):
        action = (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int32)
        obs, rewards, terminals, truncations, _ = env.step(action)
        if t < 499:
            assert not truncations.any() and not terminals.any()
    assert truncations.all() and not terminals.any()
    stats = env.episode_stats()
    assert stats == {"episodes": 4, "episode_return": 500.0, "episode_length": 500.0, "score": 1.0}
    assert np.all(np.abs(obs) <= 0.05)  # already the next episode's first observation


def test_pole_past_twelve_degrees_terminates_and_resets():
    env = sailfish.make("cartpole", num_envs=1, log_interval=0)
    env.reset()
    set_native_state(env, [0.0, 0.0, 0.2094, 1.0], steps=9)
    obs, rewards, terminals, truncations, _ = env.step(np.array([1], np.int32))
    assert terminals[0] and not truncations[0] and rewards[0] == 1.0
    assert env.get_state(0)["steps"] == 0 and np.all(np.abs(obs) <= 0.05)
    assert env.episode_stats()["episode_length"] == 10.0


def test_cart_past_the_track_edge_terminates():
    env = sailfish.make("cartpole", num_envs=1)
    env.reset()
    set_native_state(env, [2.399, 1.0, 0.0, 0.0])
    assert env.step(np.array([1], np.int32))[2][0]


@pytest.mark.parametrize("max_steps", [1, 7])
def test_max_steps_config_sets_the_truncation(max_steps):
    env = sailfish.make("cartpole", num_envs=1, max_steps=max_steps)
    env.reset()
    for t in range(max_steps):
        set_native_state(env, [0, 0, 0, 0], steps=t)
        truncated = env.step(np.array([t % 2], np.int32))[3][0]
        assert truncated == (t == max_steps - 1)
