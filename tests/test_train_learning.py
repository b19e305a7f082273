"""Training runs on the native envs reach scores random play cannot (budgets in steps, not seconds)."""
import sailfish
from sailfish.train import Config, Trainer


def train(env_name, **overrides):
    config = Config.load(env_name, {"runs_dir": "", **overrides})
    env = sailfish.make(env_name, num_envs=config.num_envs, seed=config.seed, log_interval=0)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    return trainer


def test_cartpole_reaches_mean_return_475_within_150k_steps():
    trainer = train("cartpole", total_steps=150_000, target_return=475, seed=1)
    assert trainer.episodes.mean("episode_return") >= 475  # random play: ~22
    assert trainer.global_step <= 150_000 + trainer.batch_size


def test_bandit_learns_to_pull_the_optimal_arm():
    trainer = train("bandit", total_steps=40_960, seed=0)
    assert trainer.episodes.mean("score") >= 0.9  # random play: 0.25


def test_memory_is_solved_by_the_lstm_policy_and_not_by_the_mlp():
    lstm = train("memory", total_steps=60_000, target_return=0.9, recurrent=True)
    assert lstm.episodes.mean("score") >= 0.9  # guessing the bit: 0.5
    mlp = train("memory", total_steps=60_000, recurrent=False)
    assert mlp.episodes.mean("score") < 0.7


def test_gymnasium_cartpole_through_emulation_reaches_475():
    """CartPole-v1 from Gymnasium itself, stepped in Python through sailfish.emulation."""
    from sailfish.train import Config, Trainer, make_env

    config = Config.load("gym:CartPole-v1", {"total_steps": 150_000, "target_return": 475.0, "runs_dir": ""})
    env = make_env(config)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    assert trainer.episodes.mean("episode_return") >= 475.0


def test_a_pettingzoo_factory_trains_through_its_import_path():
    """``module:factory`` names reach the trainer: here the 3-agent ``Tag`` ParallelEnv of
    tests/test_emulation.py (pytest puts tests/ on sys.path), padded to fixed rows."""
    from sailfish.train import Config, Trainer, make_env

    config = Config.load("test_emulation:Tag", {"total_steps": 2048, "num_envs": 4, "rollout_steps": 16,
                                                 "minibatch_size": 64, "runs_dir": ""})
    env = make_env(config)
    assert env.num_envs == 4 * 3 and env.masks.shape == (12,)
    trainer = Trainer(env, config=config)
    trainer.run()
    env.close()
    assert trainer.global_step >= 2048 and trainer.episodes.count > 0


def test_unknown_env_names_say_what_is_accepted():
    import pytest

    from sailfish.train.env import check_env_name

    with pytest.raises(ValueError, match="unknown environment 'cartpol'.*gym:<id>"):
        check_env_name("cartpol")
    with pytest.raises(ValueError, match="unknown Gymnasium id 'NoSuchEnv-v0'"):
        check_env_name("gym:NoSuchEnv-v0")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module'"):
        check_env_name("no_such_module:make")
    with pytest.raises(ValueError, match="has no callable 'nothing'"):
        check_env_name("sailfish:nothing")
