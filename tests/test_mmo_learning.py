"""A shared policy on a small mmo world outlives random agents (budget in steps, not seconds).

Both the trained policy (sampling) and uniformly random actions then play the same worlds from the
same seed for the same number of ticks; the lifetime compared is the mean over every life that ended
in that time (deaths and world truncations alike), so both are censored the same way.
"""
import numpy as np
import torch

from sailfish.train import Config, Trainer, make_env

SMALL_WORLD = {"map_size": 32, "agents": 16, "npcs": 8, "window": 5}


def mean_lifetime(config, policy, ticks, seed):
    env = make_env(config, seed=seed)
    env.reset(seed=seed)
    env.episode_stats()
    rng = np.random.default_rng(seed)
    obs = torch.from_numpy(env.observations)
    lives = total = 0.0
    with torch.inference_mode():
        for _ in range(ticks):
            if policy is None:
                env.actions[:] = rng.integers(0, env.single_action_space.nvec, size=env.actions.shape)
            else:
                params, _, _ = policy(obs, None)
                env.actions[:] = policy.dist.sample(params)[0].numpy()
            env.step(env.actions)
            stats = env.episode_stats()
            if stats.get("episodes"):
                lives += stats["episodes"]
                total += stats["episodes"] * stats["lifetime"]
    env.close()
    assert lives > 100
    return total / lives


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


# Measured: 115.8 vs 107.6 (1.08x) with these settings; a margin, not the 3x (see the report of
# benchmarks/mmo_learning.py: the window channels reach the MLP scaled by 1/255, nearly invisible).
RATIO = 1.05
