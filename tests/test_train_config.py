"""Config: defaults, per-env TOML, overrides, one-line errors naming the key."""
import math

import pytest

from sailfish.train.config import CONFIG_DIR, Config, field_docs


def test_every_key_is_documented():
    docs = field_docs()
    assert set(docs) == set(Config().to_dict())
    assert all(docs.values())


def test_env_toml_overrides_defaults_and_overrides_win():
    config = Config.load("cartpole", {"lr": 1e-4})
    assert config.env == "cartpole"
    assert config.lr == 1e-4
    assert (CONFIG_DIR / "cartpole.toml").exists()


def test_every_shipped_toml_loads_and_validates():
    for path in CONFIG_DIR.glob("*.toml"):
        name = path.stem
        Config.load(None if name == "default" else name)


def test_integral_float_strings_are_accepted_for_ints():
    assert Config.load("cartpole", {"total_steps": "2e7"}).total_steps == 20_000_000
    assert Config.load("cartpole", {"anneal_lr": "false"}).anneal_lr is False


@pytest.mark.parametrize("overrides,message", [
    ({"lr": -1}, "lr: must be > 0, got -1.0"),
    ({"total_steps": "2.5e0"}, "total_steps: must be an integer, got '2.5e0'"),
    ({"gamma": 1.5}, "gamma: must be in [0, 1], got 1.5"),
    ({"lrr": 3}, "lrr: unknown config key (did you mean 'lr'?)"),
    ({"anneal_lr": "maybe"}, "anneal_lr: must be true or false, got 'maybe'"),
    ({"bptt_horizon": 7}, "rollout_steps: must be a multiple of bptt_horizon (7)"),
    ({"encoder": "transformer"}, 'encoder: must be "auto", "mlp", "cnn" or "mmo"'),
    ({"encoder": "mmo", "obs_norm": True}, 'obs_norm: must be False with encoder "cnn" or "mmo"'),
])
def test_bad_values_raise_one_line_error_naming_the_key(overrides, message):
    with pytest.raises(ValueError) as info:
        Config.load("cartpole", overrides)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_save_then_load_round_trips(tmp_path):
    config = Config.load("cartpole", {"lr": 1.25e-3, "target_return": math.inf, "runs_dir": "x y"})
    config.save(tmp_path / "config.toml")
    again = Config.load(path=tmp_path / "config.toml")
    assert again == config


def test_batch_is_rows_times_rollout_steps_and_updates_round_up():
    import sailfish
    from sailfish.train import Trainer

    config = Config(env="snake", num_envs=2, rollout_steps=16, bptt_horizon=16, minibatch_size=64,
                    total_steps=2 * 32 * 16 + 1, runs_dir="")
    env = sailfish.make("snake", num_envs=2)  # 32 snakes per arena: 64 rows
    trainer = Trainer(env, config=config)
    assert trainer.batch_size == 64 * 16 and trainer.num_updates == 2
    with pytest.raises(ValueError, match="minibatch_size: must divide the batch, rows x rollout_steps = 64 x 16"):
        Trainer(env, config=config.replace(minibatch_size=48))


def test_env_config_reaches_the_env_and_merges_with_the_file_defaults(tmp_path):
    from sailfish.train import make_env
    config = Config.load("squared", {"env_config": "size=5,max_steps=12"})
    assert config.env_config == {"size": 5, "max_steps": 12}
    env = make_env(config, num_envs=2)
    assert env.single_observation_space.shape == (5, 5)
    config.save(tmp_path / "config.toml")
    again = Config.load(path=tmp_path / "config.toml", overrides={"env_config": {"size": 7}})
    assert again.env_config == {"size": 7, "max_steps": 12}


def test_bad_env_config_names_the_env_key():
    from sailfish.train import make_env
    with pytest.raises(ValueError, match="unknown config key 'sise'"):
        make_env(Config.load("squared", {"env_config": {"sise": 5}}))
    with pytest.raises(ValueError, match="env_config: expected name=value"):
        Config.load("squared", {"env_config": "size"})
