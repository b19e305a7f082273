"""MiniGrid through emulation: its text mission is refused with the wrapper that drops it, and its
Dict observation (a 7x7x3 grid image and a direction) trains through the CNN path on both Python
backends; the training test prints the mean episode return of the trained policy and of random play
on MiniGrid-Empty-5x5 (the same worlds)."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import sailfish
from sailfish.policies import CombinedEncoder, make_policy
from sailfish.train import Config, Trainer
from sailfish.train.evaluate import mean_episode_stat

minigrid = pytest.importorskip("minigrid")
from gymnasium.utils.env_checker import check_env  # noqa: E402
from gymnasium.wrappers import FilterObservation  # noqa: E402

ID = "MiniGrid-Empty-5x5-v0"


def image_and_direction():
    """MiniGrid's observation without its free-text mission, as the refusal below advises."""
    return FilterObservation(gym.make(ID), ["direction", "image"])


def test_minigrid_passes_gymnasium_check_env():
    check_env(gym.make(ID).unwrapped)
    check_env(image_and_direction().unwrapped)


def test_minigrid_text_mission_is_refused_naming_the_wrapper_that_drops_it():
    with pytest.raises(ValueError) as error:
        sailfish.vector.make(f"gym:{ID}", num_envs=1)
    message = str(error.value)
    assert "MissionSpace" in message and "at mission" in message
    assert "gymnasium.wrappers.FilterObservation(env, ['direction', 'image'])" in message
    assert "minigrid.wrappers.ImgObsWrapper(env)" in message
    text = gym.spaces.Dict({"words": gym.spaces.Text(8), "x": gym.spaces.Discrete(2)})
    with pytest.raises(ValueError, match=r"at words: .*FilterObservation\(env, \['x'\]\)"):
        sailfish.spaces.observation_layout(text)


def test_minigrid_dict_observation_unflattens_into_the_combined_encoder():
    env = sailfish.vector.make(image_and_direction, num_envs=4, backend="serial", seed=0)
    env.reset(seed=0)
    layout = env.observation_layout
    assert layout.is_bytes and env.single_observation_space.shape == (160,)  # 147 image bytes, an int64
    policy = make_policy(env, Config())
    encoder = policy.encoder
    assert isinstance(encoder, CombinedEncoder) and len(encoder.cnns) == 1
    obs = torch.from_numpy(env.observations)
    image, direction = layout.leaves[1], layout.leaves[0]
    assert torch.equal(encoder._leaf(obs, image), torch.from_numpy(layout.views(env.observations)["image"]))
    assert encoder._leaf(obs, direction).tolist() == [0, 0, 0, 0]  # MiniGrid starts facing right
    assert encoder._other_features(obs).tolist() == [[1.0, 0.0, 0.0, 0.0]] * 4  # direction one-hot
    params, value, _ = policy(obs, None)
    assert params.shape == (4, 7) and value.shape == (4,)
    value.sum().backward()
    assert encoder.cnns[0].convs[0].weight.grad.abs().sum() > 0
    env.close()


@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_minigrid_steps_with_random_actions_through_both_backends(backend):
    env = sailfish.vector.make(image_and_direction, num_envs=4, backend=backend, seed=0, log_interval=0,
                               **({"num_workers": 2} if backend == "multiprocessing" else {}))
    try:
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        for _ in range(400):
            env.step(rng.integers(0, 7, 4).astype(np.int32))
        views = env.observation_layout.views(env.observations)
        assert views["image"].shape == (4, 7, 7, 3) and views["image"].max() <= 10  # MiniGrid's object ids
        assert set(views["direction"].tolist()) <= {0, 1, 2, 3}
        stats = env.episode_stats()
    finally:
        env.close()
    assert stats["episodes"] >= 8 and 0 <= stats["episode_return"] < 1  # episodes last up to 100 steps


@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_minigrid_empty_5x5_trains_through_the_cnn_path_above_random_play(backend):
    config = Config.load(None, {"total_steps": 16_384, "num_envs": 16, "rollout_steps": 64, "minibatch_size": 256,
                                "lr": 1e-3, "ent_coef": 0.01, "runs_dir": "", "log_seconds": 0})
    env = sailfish.vector.make(image_and_direction, num_envs=config.num_envs, backend=backend, seed=0,
                               log_interval=0, **({"num_workers": 2} if backend == "multiprocessing" else {}))
    trainer = Trainer(env, config=config)
    trainer.run()
    try:
        assert isinstance(trainer.policy.encoder, CombinedEncoder)  # picked by encoder = "auto"
        trained, _ = mean_episode_stat(env, trainer.policy, 200, "episode_return", seed=7)
        random_play, _ = mean_episode_stat(env, None, 200, "episode_return", seed=7)
    finally:
        env.close()
    # Measured: random play 0.22 (reward 1 - 0.9 * steps / 100 when it finds the goal, else 0); trained
    # 0.89 after these 16k steps on either backend, 0.95 after 30k (the shortest path, 4-5 moves,
    # scores ~0.96); the training episodes' mean return passes 0.8 after 10k steps.
    print(f"MiniGrid-Empty-5x5 ({backend}) return: trained {trained:.3f}, random play {random_play:.3f}")
    assert random_play < 0.4
    assert trained >= 0.8
