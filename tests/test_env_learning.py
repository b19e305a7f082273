"""Each native env of issue 4 learns with its tuned config (sailfish/configs/<env>.toml): a short run with a
fixed step budget (steps, not seconds) reaches a score random play never reaches.

Random play's figures (uniform random actions, thousands of episodes, measured with the default env
config unless the env's TOML sets one) are in the comments. The thresholds sit well above random play
and below what the budget reached on a 2-core CPU, so a seed's luck does not fail the test; the full
targets (benchmarks/env_time_to_solve.py) take longer. Each case takes about 1-21 s on a 2-core CPU.

breakout_pixels has no learning case: its CNN trains at ~3.5k steps/s on this CPU, and it needs ~400k
steps (~2 min) to score clearly above random play (1.7 points); a short run checks that the CNN path
trains (finite losses, the weights move).
"""
import math

import pytest
import torch

from sailfish.train import Config, Trainer, make_env

CASES = [
    # env, total_steps, statistic, threshold; random play in the comment
    ("pong", 2_500_000, "score", 0.5),  # win rate; random play: 0.00004 (0.26 points of 5 per game)
    ("connect4", 1_000_000, "score", 0.5),  # win rate; random play: 0.02 (10% of games lost by an illegal move)
    ("target", 300_000, "score", 0.5),  # success rate; random play: 0.013
    ("snake", 1_500_000, "score", 3.0),  # mean length reached; random play: 1.66
    ("breakout", 2_000_000, "score", 6.0),  # points per game; random play (frameskip 4): 1.7
]


@pytest.mark.parametrize("env_name,total_steps,key,threshold", CASES, ids=[c[0] for c in CASES])
def test_env_learns_within_a_fixed_step_budget(env_name, total_steps, key, threshold):
    config = Config.load(env_name, {"runs_dir": "", "total_steps": total_steps, "seed": 0})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    assert trainer.global_step <= total_steps + trainer.batch_size
    assert trainer.episodes.count > 0
    value = trainer.episodes.mean(key)
    assert value >= threshold, f"{env_name}: {key} {value:.3f} after {trainer.global_step:,} steps (< {threshold})"


def test_breakout_pixels_trains_the_cnn_policy():
    config = Config.load("breakout_pixels", {"runs_dir": "", "total_steps": 8192, "seed": 0})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    before = [p.detach().clone() for p in trainer.policy.parameters()]
    metrics = trainer.run()
    env.close()
    assert type(trainer.policy.encoder).__name__ == "CNN"
    assert trainer.global_step >= 8192
    for key in ("losses/policy_loss", "losses/value_loss", "losses/entropy"):
        assert math.isfinite(metrics[key]), key
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, trainer.policy.parameters()))
