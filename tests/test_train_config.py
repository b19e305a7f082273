"""Config: defaults, per-env TOML, overrides, one-line errors naming the key."""
import math

import pytest

from sailfish.train.config import CONFIG_DIR, Config, field_docs, read_toml


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
    paths = sorted(CONFIG_DIR.glob("*.toml"))
    assert len(paths) > 1 and CONFIG_DIR / "default.toml" in paths
    for path in paths:
        name = path.stem
        config = Config.load(None if name == "default" else name)
        assert config.env == (Config().env if name == "default" else name)
        # every key the file sets (its [sweep] search space aside) reaches the config
        for key, value in read_toml(path).items():
            if key != "sweep":
                assert getattr(config, key) == value, (path.name, key)


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
    ({"encoder": "transformer"}, 'encoder: must be "auto", "mlp", "cnn", "combined", "mmo" or "connect4"'),
    ({"encoder": "mmo", "obs_norm": True}, 'obs_norm: must be False with encoder "cnn", "combined", "mmo" or "connect4"'),
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


def test_every_key_of_a_full_config_round_trips_through_the_file(tmp_path):
    # a value of every kind the fields hold, each different from its default, and strings TOML must escape
    changed = {"env": "squared", "env_config": {"size": 5, "max_steps": 12.5, "wrap": True, "name": "a b"},
               "seed": 7, "total_steps": 123_456, "target_return": -math.inf, "lr": 3.3e-4, "anneal_lr": False,
               "gamma": 0.0, "adam_eps": 1e-12, "max_grad_norm": 1e6, "encoder": "mlp", "obs_norm": True,
               "device": "cuda:1", "runs_dir": 'C:\\runs "quoted" \u00fc\n', "log_seconds": 0.0}
    config = Config(**changed)
    assert all(getattr(config, k) != getattr(Config(), k) for k in changed)
    path = tmp_path / "config.toml"
    config.save(path)
    assert read_toml(path) == config.to_dict()
    assert Config.load(path=path) == config


def test_env_config_keys_that_are_not_bare_toml_keys_round_trip(tmp_path):
    # "a.b" written bare would read back as a nested table {a: {b: 1}}; "with space" would not parse
    env_config = {"a.b": 1, "with space": 2, "quote\"d": 3.5}
    config = Config.load("cartpole", {"env_config": env_config})
    config.save(tmp_path / "config.toml")
    assert Config.load(path=tmp_path / "config.toml").env_config == env_config


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
