"""A shared policy on a small mmo world outlives random agents (budget in steps, not seconds).

Both the trained policy (sampling) and uniformly random actions then play the same worlds from the
same seed for the same number of ticks; the lifetime compared is the mean over every life that ended
in that time (deaths and world truncations alike), so both are censored the same way.
"""
from sailfish.train import Config, Trainer, make_env
from sailfish.train.evaluate import mean_episode_stat

SMALL_WORLD = {"map_size": 32, "agents": 16, "npcs": 8, "window": 5}


def mean_lifetime(config, policy, ticks, seed):
    env = make_env(config, seed=seed)
    lifetime, lives = mean_episode_stat(env, policy, ticks, "lifetime", seed)
    env.close()
    assert lives > 100
    return lifetime


def test_mmo_agents_outlive_random_agents_on_a_small_world():
    # 16 worlds x 16 agents = 256 rows; the rest of the settings are sailfish/configs/mmo.toml's
    config = Config.load("mmo", {"env_config": SMALL_WORLD, "num_envs": 16, "total_steps": 2_000_000,
                                 "seed": 0, "runs_dir": ""})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    trainer.policy.eval()
    trained = mean_lifetime(config, trainer.policy, 1024, seed=123)
    random = mean_lifetime(config, None, 1024, seed=123)
    assert trained >= RATIO * random, (trained, random)


# Measured: 155.3 vs 109.0 (1.42x) with these settings and the mmo encoder (the plain MLP gave 1.08x);
# a margin below that, not the 3x, which benchmarks/mmo_learning.py measures on the default world.
RATIO = 1.25
