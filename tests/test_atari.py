"""atari:<game>: ale-py's AtariVectorEnv with the standard preprocessing, scored on whole real games."""
import numpy as np
import pytest

pytest.importorskip("ale_py")

from sailfish.policies import make_policy  # noqa: E402
from sailfish.train import Config, Trainer, make_env  # noqa: E402
from sailfish.vector import AtariVecEnv  # noqa: E402

NOOP = 0


def test_frames_are_four_stacked_84x84_grey_uint8_and_get_the_nature_cnn():
    config = Config.load("atari:Breakout", {"num_envs": 2, "runs_dir": ""})
    env = make_env(config)
    obs, _ = env.reset()
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8 and obs.max() > 0
    assert env.single_observation_space.shape == (4, 84, 84)
    conv = make_policy(env, config).encoder.convs[0]
    assert (conv.in_channels, conv.kernel_size, conv.stride) == (4, (8, 8), (4, 4))  # Nature DQN, channels first
    env.close()


def steps_to_first_lost_life(env, limit=400):
    env.reset(seed=0)
    lives = env.last_infos["lives"].copy()
    for t in range(limit):
        env.step(np.full(env.num_envs, NOOP))
        if (env.last_infos["lives"] < lives).any():
            return t
    return None


def test_fire_reset_launches_the_ball_and_a_lost_life_ends_only_the_training_episode():
    fired = AtariVecEnv("Breakout", 1, seed=0)
    lost_at = steps_to_first_lost_life(fired)
    assert lost_at is not None  # NOOPs only: the ball was launched by the FIRE after reset
    assert fired.terminals[0] and not fired.truncations[0]  # episodic life: a terminal for training ...
    assert fired.last_infos["lives"][0] == 4 and fired.episode_stats() == {}  # ... but the game goes on
    unfired = AtariVecEnv("Breakout", 1, seed=0, use_fire_reset=False)
    assert steps_to_first_lost_life(unfired) is None  # without FIRE the ball never comes
    rng = np.random.default_rng(0)
    for _ in range(2000):  # random play until the game is over
        fired.step(rng.integers(0, 4, 1))
        stats = fired.episode_stats()
        if stats:
            break
    assert stats["episodes"] == 1 and stats["episode_length"] > lost_at + 1  # the whole game, all 5 lives
    fired.close(), unfired.close()


def test_scores_are_the_real_unclipped_game_scores():
    env = AtariVecEnv("Breakout", 4, seed=0)
    env.reset()
    rng = np.random.default_rng(1)
    running, finished, biggest = np.zeros(4), [], 0.0
    lives = env.last_infos["lives"].copy()
    for _ in range(1500):
        env.step(rng.integers(0, 4, 4))
        assert set(np.unique(env.rewards)) <= {0.0, 1.0}  # the trainer's rewards are clipped
        running += env.raw_rewards
        biggest = max(biggest, env.raw_rewards.max())
        over = env.terminals & (env.last_infos["lives"] > lives)  # back to 5 lives: a new game began
        lives = env.last_infos["lives"].copy()
        finished += list(running[over])
        running[over] = 0
    stats = env.episode_stats()
    assert biggest >= 4  # Breakout's upper bricks are worth 4 and 7: clipping would have hidden them
    assert stats["episodes"] == len(finished) >= 10
    assert stats["score"] == stats["episode_return"] == pytest.approx(np.mean(finished))
    env.close()


def test_a_few_updates_of_pong_training_run():
    config = Config.load("atari:Pong", {"total_steps": 2 * 4 * 128, "num_envs": 4, "runs_dir": ""})
    assert (config.lr, config.clip_coef, config.ent_coef, config.hidden_size) == (2.5e-4, 0.1, 0.01, 512)
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    assert trainer.update_count == 2 and np.isfinite(trainer.last_update.as_floats()["losses/value_loss"])
