"""GymnasiumVectorEnv: any gymnasium VectorEnv seen with Sailfish's same-step autoreset, whatever its mode."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from sailfish.train import Config, Trainer
from sailfish.vector import GymnasiumVectorEnv, VecEnv

N = 4
MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]


def cartpoles(mode, n=N):
    return gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")] * n, autoreset_mode=mode)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
def test_transitions_equal_stepping_the_envs_by_hand(mode):
    env = GymnasiumVectorEnv(cartpoles(mode))
    assert isinstance(env, VecEnv) and env.num_rows == env.num_instances == N and env.agents_per_env == 1
    by_hand = [gym.make("CartPole-v1") for _ in range(N)]
    obs, _ = env.reset(seed=7)
    expected = np.stack([e.reset(seed=7 + i)[0] for i, e in enumerate(by_hand)])
    np.testing.assert_array_equal(obs, expected)
    rng = np.random.default_rng(0)
    returns, lengths, finished = np.zeros(N), np.zeros(N), []
    for _ in range(300):
        actions = rng.integers(0, 2, N)
        obs, rewards, terminals, truncations, _ = env.step(actions)
        for i, e in enumerate(by_hand):
            o, r, term, trunc, _ = e.step(int(actions[i]))
            returns[i] += r
            lengths[i] += 1
            if term or trunc:  # same-step: the row already holds the next episode's first observation
                o, _ = e.reset()
                finished.append((returns[i], lengths[i]))
                returns[i] = lengths[i] = 0
            np.testing.assert_array_equal(obs[i], o)
            assert (rewards[i], terminals[i], truncations[i]) == (r, term, trunc)
    assert len(finished) > 20  # random CartPole episodes last ~22 steps: many resets were crossed
    stats = env.episode_stats()
    assert stats["episodes"] == len(finished)
    assert stats["episode_return"] == pytest.approx(np.mean([f[0] for f in finished]))
    assert stats["episode_length"] == pytest.approx(np.mean([f[1] for f in finished]))
    assert stats["score"] == stats["episode_return"]
    assert env.episode_stats() == {}  # drained
    env.close()
    env.close()


def test_buffers_are_rewritten_in_place_and_wrong_actions_are_refused():
    env = GymnasiumVectorEnv(cartpoles(AutoresetMode.NEXT_STEP))
    obs, _ = env.reset(seed=0)
    out = env.step(env.actions)
    assert out[0] is obs is env.observations and out[1] is env.rewards
    assert env.observations.dtype == np.float32 and env.masks.all()
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(N + 1, np.int64))
    env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.step(env.actions)


def test_nested_observation_spaces_are_refused_with_the_fix():
    tuple_env = gym.vector.SyncVectorEnv([lambda: gym.make("Blackjack-v1")] * 2)  # Tuple observations
    with pytest.raises(ValueError, match="sailfish.vector.make"):
        GymnasiumVectorEnv(tuple_env)


def test_cartpole_through_a_sync_vector_env_trains_above_random():
    config = Config.load("gym:CartPole-v1", {"total_steps": 40_000, "runs_dir": "", "seed": 1})
    env = GymnasiumVectorEnv(cartpoles(AutoresetMode.NEXT_STEP, config.num_envs))
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    # random play: ~22. Seeds 0-4 of this budget reached 185, 147, 174, 221 and 198 (since tanh went
    # to the C core; seed 1 had reached 150 before): the bar leaves room for such seed-to-seed spread.
    assert trainer.episodes.mean("episode_return") >= 100
