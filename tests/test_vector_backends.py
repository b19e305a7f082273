"""The Python backends speak the same protocol as the native env and agree with each other."""
import gymnasium as gym
import numpy as np
import pytest

import sailfish
from sailfish.vector import AsyncVecEnv, Multiprocessing, NativeVecEnv, Serial, VecEnv

pytest.importorskip("pettingzoo")
from test_emulation import Countdown, Tag  # noqa: E402


def cartpole():
    return gym.make("CartPole-v1")


def backends(creator, num_envs, **kwargs):
    return [Serial(creator, num_envs, **kwargs), Multiprocessing(creator, num_envs, num_workers=2, **kwargs)]


def policy(step, env_ids, agents=1):
    """Deterministic actions from (step, env), so any backend and batching see the same ones."""
    return (((step * 7 + np.repeat(env_ids, agents) * 3) // 5) % 2).astype(np.int64)


def test_backends_agree_bit_for_bit_with_the_same_seed():
    serial, multi = backends(cartpole, 4, seed=7)
    try:
        for env in (serial, multi):
            assert isinstance(env, AsyncVecEnv) and env.num_envs == 4
        assert np.array_equal(serial.reset()[0], multi.reset()[0])
        for step in range(300):
            a = policy(step, np.arange(4))
            s, m = serial.step(a), multi.step(a)
            for x, y in zip(s[:4], m[:4]):
                assert np.array_equal(x, y), step
            assert multi.masks.all()
        assert serial.episode_stats() == multi.episode_stats() != {}
    finally:
        serial.close()
        multi.close()


@pytest.mark.parametrize("kind", [Serial, Multiprocessing])
def test_async_batches_come_round_robin_and_match_synchronous_stepping(kind):
    extra = {"num_workers": 4} if kind is Multiprocessing else {}
    sync = Serial(cartpole, 4, seed=3)
    env = kind(cartpole, 4, batch_size=2, seed=3, **extra)
    try:
        sync.reset()
        env.async_reset()
        trajectory = {0: [], 1: []}
        steps = {0: 0, 1: 0}
        for i in range(200):
            batch = env.recv()
            group = batch.rows.start // 2
            assert group == i % 2 and batch.env_ids.tolist() == [2 * group, 2 * group + 1]
            trajectory[group].append(batch.observations.copy())
            env.send(policy(steps[group], batch.env_ids))
            steps[group] += 1
        for step in range(100):
            for group in (0, 1):
                assert np.array_equal(trajectory[group][step], sync.observations[2 * group:2 * group + 2]), step
            sync.step(policy(step, np.arange(4)))
    finally:
        sync.close()
        env.close()


def test_async_api_misuse_raises_clear_errors():
    env = Serial(cartpole, 2, batch_size=1)
    with pytest.raises(RuntimeError, match="call async_reset"):
        env.recv()
    env.async_reset()
    with pytest.raises(RuntimeError, match="call recv"):
        env.send(np.zeros(1, np.int64))
    env.recv()
    with pytest.raises(RuntimeError, match="recv\\(\\) twice"):
        env.recv()
    with pytest.raises(RuntimeError, match="in flight"):
        env.step(np.zeros(2, np.int64))
    env.reset()
    env.step(np.zeros(2, np.int64))
    env.close()


@pytest.mark.parametrize("actions,match", [(np.zeros(3, np.int64), "shape"), (np.full(2, 2), "out of range"),
                                           (np.zeros(2, np.float32), "integers")])
def test_bad_actions_raise_before_any_env_moves(actions, match):
    env = Serial(cartpole, 2)
    obs = env.reset()[0].copy()
    with pytest.raises(ValueError, match=match):
        env.step(actions)
    assert np.array_equal(env.observations, obs)


@pytest.mark.parametrize("kind", [Serial, Multiprocessing])
def test_multi_agent_env_gives_fixed_rows_with_masks(kind):
    env = kind(Tag, 2, **({"num_workers": 2} if kind is Multiprocessing else {}))
    try:
        assert (env.num_envs, env.agents_per_env) == (6, 3)
        env.reset()
        assert env.masks.tolist() == [True, True, False] * 2
        for _ in range(4):
            env.step(np.zeros(6, np.int64))
        assert env.masks.tolist() == [True, True, False] * 2 and env.truncations.tolist() == [False, False, True] * 2
        assert env.episode_stats() == {"episodes": 6, "episode_return": 3.0, "episode_length": 3.0, "score": 3.0}
    finally:
        env.close()


@pytest.mark.parametrize("kind", [Serial, Multiprocessing])
def test_dict_observations_flatten_into_rows_and_scores_come_from_info(kind):
    env = kind(Countdown, 2, **({"num_workers": 2} if kind is Multiprocessing else {}))
    try:
        assert env.observations.dtype == np.uint8  # int64 and float32 leaves: a byte row
        env.reset()
        for _ in range(3):
            env.step(np.ones(2, np.int64))
        view = env.observation_layout.views(env.observations)
        assert view["t"].tolist() == [0, 0] and view["x"].shape == (2, 2)
        assert env.episode_stats() == {"episodes": 2, "episode_return": 3.0, "episode_length": 3.0, "score": 103.0}
    finally:
        env.close()


@pytest.mark.parametrize("kind", [Serial, Multiprocessing])
def test_render_returns_the_envs_frame(kind):
    env = kind(lambda: Countdown(render_mode="rgb_array"), 2, **({"num_workers": 2} if kind is Multiprocessing else {}))
    try:
        env.reset()
        env.step(np.ones(2, np.int64))
        assert env.render(1).shape == (4, 4, 3) and env.render(1)[0, 0, 0] == 1
    finally:
        env.close()


def test_make_builds_every_backend():
    native = sailfish.vector.make("cartpole", 4, backend="native", seed=1)
    assert isinstance(native, NativeVecEnv) and isinstance(native, VecEnv)
    serial = sailfish.vector.make("gym:CartPole-v1", 4, backend="serial")
    multi = sailfish.vector.make(cartpole, 4, backend="multiprocessing", num_workers=2, batch_size=2)
    assert isinstance(serial, Serial) and isinstance(multi, Multiprocessing) and multi.batch_size == 2
    for env in (native, serial, multi):
        env.close()
    with pytest.raises(ValueError, match="backend"):
        sailfish.vector.make(cartpole, 4, backend="ray")
    with pytest.raises(ValueError, match="num_workers"):
        sailfish.vector.make(cartpole, 4, backend="multiprocessing", num_workers=3)
    with pytest.raises(gym.error.Error):
        sailfish.vector.make("gym:NoSuchEnv-v0", 2)


def test_spawn_start_method_sends_a_lambda_with_cloudpickle():
    env = Multiprocessing(lambda: gym.make("CartPole-v1"), 2, num_workers=2, start_method="spawn", seed=5)
    reference = Serial(cartpole, 2, seed=5)
    try:
        assert np.array_equal(env.reset()[0], reference.reset()[0])
        for step in range(20):
            a = policy(step, np.arange(2))
            assert np.array_equal(env.step(a)[0], reference.step(a)[0])
    finally:
        env.close()
        reference.close()


def test_episode_stats_wait_for_busy_workers_and_lose_nothing():
    env = Multiprocessing(lambda: Countdown(length=2), 4, num_workers=4, batch_size=2)
    try:
        env.async_reset()
        episodes = 0.0
        for _ in range(40):  # 20 steps of each group: 10 episodes per env
            batch = env.recv()
            env.send(np.ones(2, np.int64))
            episodes += env.episode_stats().get("episodes", 0.0)
        env.reset()  # waits for everything in flight
        episodes += env.episode_stats().get("episodes", 0.0)
        assert episodes == 40 and batch.rows == slice(2, 4)
    finally:
        env.close()


def test_episode_stats_read_while_a_batch_is_held_lose_nothing():
    # the async collector's order: the held group alone is idle (protocol.py reads it as one slice)
    env = Multiprocessing(lambda: Countdown(length=2), 4, num_workers=4, batch_size=2)
    try:
        env.async_reset()
        episodes = 0.0
        for _ in range(40):
            env.recv()
            episodes += env.episode_stats().get("episodes", 0.0)
            env.send(np.ones(2, np.int64))
        env.reset()
        episodes += env.episode_stats().get("episodes", 0.0)
        assert episodes == 40
    finally:
        env.close()
