"""Rule tests for squared, bandit and memory: a known state and action give a known result."""
import numpy as np
import pytest

import sailfish

STAY, UP, DOWN, LEFT, RIGHT = range(5)


def squared(**config):
    env = sailfish.make("squared", num_envs=1, seed=0, log_interval=0, **config)
    env.reset()
    return env


def act(env, a):
    obs, rewards, terminals, truncations, _ = env.step(np.array([a], np.int32))
    return obs[0], float(rewards[0]), bool(terminals[0]), bool(truncations[0])


def test_squared_starts_at_the_centre_with_one_target_elsewhere():
    env = squared(size=9)
    grid = env.observations[0]
    assert grid[4, 4] == 1 and (grid == 1).sum() == 1 and (grid == 2).sum() == 1 and grid.sum() == 3


@pytest.mark.parametrize("action,expected", [(UP, (2, 3)), (DOWN, (4, 3)), (LEFT, (3, 2)), (RIGHT, (3, 4)), (STAY, (3, 3))])
def test_squared_moves_one_cell(action, expected):
    env = squared(size=7)
    env.set_state(0, agent_row=3, agent_col=3, target_row=0, target_col=0, steps=0)
    grid, reward, terminal, truncated = act(env, action)
    assert (reward, terminal, truncated) == (0.0, False, False)
    assert grid[expected] == 1 and (grid == 1).sum() == 1 and grid[0, 0] == 2
    assert (env.get_state(0)["agent_row"], env.get_state(0)["agent_col"]) == expected


def test_squared_walls_block_moves():
    env = squared(size=5)
    env.set_state(0, agent_row=0, agent_col=4, target_row=4, target_col=0, steps=0)
    for a in (UP, RIGHT):
        grid, *_ = act(env, a)
        assert grid[0, 4] == 1


def test_squared_reaching_the_target_pays_one_and_starts_a_new_episode():
    env = squared(size=5)
    env.set_state(0, agent_row=2, agent_col=2, target_row=2, target_col=3, steps=4)
    grid, reward, terminal, truncated = act(env, RIGHT)
    assert (reward, terminal, truncated) == (1.0, True, False)
    assert grid[2, 2] == 1 and (grid == 2).sum() == 1 and grid.sum() == 3  # the next episode
    stats = env.episode_stats()
    assert stats["episode_length"] == 5.0 and stats["score"] == 1.0 and stats["episode_return"] == 1.0


def test_squared_running_out_of_moves_costs_one():
    env = squared(size=5)  # max_steps = 2 * size = 10
    env.set_state(0, agent_row=0, agent_col=0, target_row=4, target_col=4, steps=9)
    _, reward, terminal, _ = act(env, STAY)
    assert (reward, terminal) == (-1.0, True)
    assert env.episode_stats()["score"] == 0.0


def test_squared_random_play_scores_low():
    env = sailfish.make("squared", num_envs=512, seed=0, log_interval=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(200):
        env.step(rng.integers(0, 5, 512).astype(np.int32))
    stats = env.episode_stats()
    assert stats["score"] < 0.2 and stats["episode_return"] < -0.5


def test_bandit_pays_the_optimal_arm_more():
    env = sailfish.make("bandit", num_envs=4000, seed=0, log_interval=0, arms=3, optimal_arm=1,
                        optimal_prob=0.9, other_prob=0.1)
    env.reset()
    means = []
    for arm in range(3):
        obs, rewards, terminals, truncations, _ = env.step(np.full(4000, arm, np.int32))
        assert terminals.all() and not truncations.any() and np.all(obs == 1.0)
        means.append(rewards.mean())
        assert env.episode_stats()["score"] == float(arm == 1)
    assert means[1] == pytest.approx(0.9, abs=0.03)
    assert means[0] == pytest.approx(0.1, abs=0.03) and means[2] == pytest.approx(0.1, abs=0.03)


def test_memory_shows_the_bit_first_and_asks_for_it_after_the_delay():
    env = sailfish.make("memory", num_envs=1, seed=0, log_interval=0, delay=3)
    env.reset()
    env.set_state(0, bit=1, steps=0)
    assert env.observations[0].tolist() == [1.0, 0.0]
    for t in range(3):
        obs, reward, terminal, _ = act(env, 0)  # answers before the query are ignored
        assert (reward, terminal) == (0.0, False)
        assert obs.tolist() == [0.0, 1.0 if t == 2 else 0.0]
    _, reward, terminal, _ = act(env, 1)
    assert (reward, terminal) == (1.0, True)
    assert env.observations[0, 0] in (-1.0, 1.0)  # the next episode's cue


def test_memory_wrong_answer_costs_one():
    env = sailfish.make("memory", num_envs=1, seed=0, log_interval=0, delay=1)
    env.reset()
    env.set_state(0, bit=0, steps=1)
    assert env.observations[0].tolist() == [0.0, 1.0]
    _, reward, terminal, _ = act(env, 1)
    assert (reward, terminal) == (-1.0, True)
    assert env.episode_stats() == {"episodes": 1, "episode_return": -1.0, "episode_length": 2.0, "score": 0.0}
