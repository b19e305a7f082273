"""Policies: shapes and distributions per action space, CNN layouts, LSTM weight sharing and resets."""
import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Discrete, MultiDiscrete

from sailfish.policies import CNN, LSTM, MLP, Policy, make_policy
from sailfish.train.config import Config


class Spaces:
    """Just the two attributes make_policy reads (a stand-in for the env's spaces, not for our code)."""

    def __init__(self, obs, act):
        self.single_observation_space, self.single_action_space = obs, act


OBS = Box(-1, 1, (5,), np.float32)


@pytest.mark.parametrize("space,action_shape", [
    (Discrete(3), ()), (MultiDiscrete([2, 5]), (2,)), (Box(-1, 1, (4,), np.float32), (4,))])
def test_policy_samples_valid_actions_with_matching_logprob(space, action_shape):
    torch.manual_seed(0)
    policy = make_policy(Spaces(OBS, space), Config())
    obs = torch.randn(8, 5)
    params, value, state = policy(obs, None)
    assert value.shape == (8,) and state is None
    actions, logprob = policy.dist.sample(params)
    assert actions.shape == (8,) + action_shape
    again, entropy = policy.dist.logprob_entropy(params, actions)
    torch.testing.assert_close(again, logprob)
    assert entropy.shape == (8,) and bool((entropy > 0).all())
    if not isinstance(space, Box):
        assert space.contains(actions[0].numpy().astype(np.int64) if action_shape else int(actions[0]))


def test_discrete_logprob_and_entropy_match_torch_distributions():
    policy = make_policy(Spaces(OBS, Discrete(4)), Config())
    params, _, _ = policy(torch.randn(6, 5), None)
    actions = torch.tensor([0, 1, 2, 3, 0, 1])
    ref = torch.distributions.Categorical(logits=params)
    logprob, entropy = policy.dist.logprob_entropy(params, actions)
    torch.testing.assert_close(logprob, ref.log_prob(actions))
    torch.testing.assert_close(entropy, ref.entropy())


def test_gaussian_logprob_and_entropy_match_torch_distributions():
    policy = make_policy(Spaces(OBS, Box(-1, 1, (3,), np.float32)), Config())
    with torch.no_grad():
        policy.log_std.copy_(torch.tensor([-0.5, 0.0, 0.3]))
    params, _, _ = policy(torch.randn(6, 5), None)
    actions = torch.randn(6, 3)
    ref = torch.distributions.Normal(params[:, :3], torch.tensor([-0.5, 0.0, 0.3]).exp())
    logprob, entropy = policy.dist.logprob_entropy(params, actions)
    torch.testing.assert_close(logprob, ref.log_prob(actions).sum(-1))
    torch.testing.assert_close(entropy, ref.entropy().sum(-1))


@pytest.mark.parametrize("shape", [(36, 36, 3), (3, 36, 36), (11, 11, 1), (2, 9, 9)])
def test_cnn_accepts_channels_last_and_first_uint8(shape):
    space = Box(0, 255, shape, np.uint8)
    policy = make_policy(Spaces(space, Discrete(5)), Config(hidden_size=32))
    assert isinstance(policy.encoder, CNN)
    obs = torch.randint(0, 256, (4,) + shape, dtype=torch.uint8)
    params, value, _ = policy(obs, None)
    assert params.shape == (4, 5) and value.shape == (4,)


def test_uint8_grid_observations_are_scaled_to_unit_range():
    space = Box(0, 2, (11, 11), np.uint8)
    encoder = MLP(space, 16)
    assert encoder.scale == pytest.approx(0.5)


def test_lstm_wrapper_keeps_the_wrapped_policy_weights():
    torch.manual_seed(0)
    inner = Policy(MLP(OBS, 16), Discrete(2))
    before = {k: v.clone() for k, v in inner.state_dict().items()}
    LSTM(inner)
    for k, v in inner.state_dict().items():
        torch.testing.assert_close(v, before[k])


def test_lstm_cell_and_sequence_share_parameters_and_agree():
    torch.manual_seed(0)
    policy = LSTM(Policy(MLP(OBS, 16), Discrete(2)))
    assert policy.cell.weight_ih is policy.lstm.weight_ih_l0
    assert len(list(policy.parameters())) == len({id(p) for p in policy.parameters()})
    obs = torch.randn(3, 7, 5)
    starts = torch.zeros(3, 7, dtype=torch.bool)
    state = policy.initial_state(3, "cpu")
    seq_params, seq_values, _ = policy.forward_sequence(obs, state, starts)
    step_params = []
    for t in range(7):
        p, v, state = policy(obs[:, t], state)
        step_params.append(p)
    torch.testing.assert_close(torch.stack(step_params, 1), seq_params, rtol=1e-5, atol=1e-5)


def test_lstm_state_resets_where_an_episode_starts():
    torch.manual_seed(0)
    policy = LSTM(Policy(MLP(OBS, 16), Discrete(2)))
    obs = torch.randn(2, 6, 5)
    starts = torch.zeros(2, 6, dtype=torch.bool)
    starts[0, 3] = True  # agent 0 begins a new episode at step 3
    state = tuple(torch.randn(2, 16) for _ in range(2))  # history that must not leak past the reset
    params, values, _ = policy.forward_sequence(obs, state, starts)
    # the new episode from step 3 on is what a fresh state sees from that step
    fresh, fresh_values, _ = policy.forward_sequence(obs[:1, 3:], policy.initial_state(1, "cpu"),
                                                     torch.zeros(1, 3, dtype=torch.bool))
    torch.testing.assert_close(params[:1, 3:], fresh, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(values[:1, 3:], fresh_values, rtol=1e-5, atol=1e-5)
    # agent 1 had no reset: its outputs still depend on the initial state
    no_history, _, _ = policy.forward_sequence(obs[1:], policy.initial_state(1, "cpu"), starts[1:])
    assert not torch.allclose(params[1:], no_history)


def test_obs_norm_statistics_change_only_on_commit_and_match_numpy():
    import gymnasium as gym
    import numpy as np
    import torch

    from sailfish.policies.models import MLP

    mlp = MLP(gym.spaces.Box(-np.inf, np.inf, (3,), np.float32), hidden=8, obs_norm=True)
    rng = np.random.default_rng(0)
    a = rng.normal([1.0, -5.0, 20.0], [0.5, 2.0, 10.0], (500, 3)).astype(np.float32)
    b = rng.normal([1.0, -5.0, 20.0], [0.5, 2.0, 10.0], (300, 3)).astype(np.float32)
    before = mlp(torch.from_numpy(a[:4])).clone()
    mlp.norm.observe(torch.from_numpy(a))
    assert torch.equal(mlp(torch.from_numpy(a[:4])), before)  # nothing changes before the commit
    mlp.norm.commit()
    mlp.norm.observe(torch.from_numpy(b))
    mlp.norm.commit()
    both = np.concatenate([a, b])
    np.testing.assert_allclose(mlp.norm.mean.numpy(), both.mean(0), rtol=1e-4)
    np.testing.assert_allclose(mlp.norm.var.numpy(), both.var(0), rtol=1e-3)
    assert "norm.mean" in dict(mlp.named_buffers())  # carried by checkpoints


# ---------------------------------------------------------------- the mmo encoder
def test_mmo_encoder_features_one_hot_categories_and_scale_counts():
    import sailfish
    from sailfish.policies.mmo import MmoEncoder

    env = sailfish.make("mmo", num_envs=1, map_size=32, agents=2, npcs=0, window=3)
    enc = MmoEncoder(env.single_observation_space, hidden=16)
    obs = np.zeros((1, 3 * 3 * 7 + 13), np.uint8)
    obs[0, 0:7] = [2, 1, 80, 3, 3, 50, 4]   # cell 0: forest with food, an agent (80 hp, level 3),
    #                                        a hostile NPC at half health, a potion
    obs[0, 7:14] = [3, 0, 0, 0, 0, 0, 0]    # cell 1: water, nothing on it
    obs[0, 63:] = [1, 100, 40, 20, 2, 5, 3, 1, 4, 0, 1, 255, 0]
    cells, stats = enc.features(torch.from_numpy(obs))
    assert cells.shape == (1, 9, 19) and stats.shape == (1, 25)
    # terrain one-hot, food, NPC tier one-hot, item one-hot, agent present; its health, its level,
    # 0 (the tier's count column), NPC health
    expected0 = [0, 0, 1, 0, 0, 0] + [1] + [0, 0, 1] + [0, 0, 0, 1] + [1] + [0.8, 0.3, 0, 0.5]
    expected1 = [0, 0, 0, 1, 0, 0] + [0] * 13
    torch.testing.assert_close(cells[0, 0], torch.tensor(expected0))
    torch.testing.assert_close(cells[0, 1], torch.tensor(expected1, dtype=torch.float32))
    torch.testing.assert_close(cells[0, 2], torch.tensor([1.0] + [0] * 18))  # outside the map
    # out-of-range codes (never produced by the env) are clamped, not read past the table
    cells, _ = enc.features(torch.full((1, 76), 255, dtype=torch.uint8))
    assert cells.shape == (1, 9, 19) and torch.isfinite(cells).all()
    # alive, health, food, water, 2 levels, weapon tier, facing one-hot (E), inventory one-hots
    # (potion, empty, weapon tier 1), x, y
    expected_stats = ([1, 1.0, 0.4, 0.2, 0.2, 0.5, 1.0] + [0, 1, 0, 0] + [0, 0, 0, 1] + [0, 0, 0, 0]
                      + [1, 0, 0, 0] + [1.0, 0.0])
    torch.testing.assert_close(stats[0], torch.tensor(expected_stats, dtype=torch.float32))


def test_mmo_encoder_is_picked_by_config_and_refuses_other_observations():
    import sailfish
    from sailfish.policies.mmo import MmoEncoder

    env = sailfish.make("mmo", num_envs=2, map_size=32, agents=2, npcs=0, window=5)
    policy = make_policy(env, Config(env="mmo", encoder="mmo", hidden_size=32))
    assert isinstance(policy.encoder, MmoEncoder)
    env.reset(seed=0)
    params, value, _ = policy(torch.from_numpy(env.observations))
    assert params.shape == (4, 5 + 3 + 4) and value.shape == (4,)
    with pytest.raises(ValueError, match="mmo observation"):
        MmoEncoder(Box(0, 255, (60,), np.uint8))


def test_mmo_encoder_forward_is_its_layers_over_the_features():
    import sailfish
    from sailfish.policies.mmo import MmoEncoder

    env = sailfish.make("mmo", num_envs=3, map_size=32, agents=4, npcs=8, window=5)
    env.reset(seed=1)
    enc = MmoEncoder(env.single_observation_space, hidden=32)
    obs = torch.from_numpy(env.observations)
    cells, stats = enc.features(obs)
    onehots, counts = cells[..., :15], cells[..., 15:]
    h = torch.relu(enc.fc1(torch.cat([onehots.flatten(1), counts.flatten(1), stats], 1)))
    torch.testing.assert_close(enc(obs), torch.relu(enc.fc2(h)))


def test_the_fast_tanh_matches_torch_tanh_and_its_gradient():
    from sailfish.policies.activations import FAST_MIN_ELEMENTS, tanh

    x = (torch.randn(4, FAST_MIN_ELEMENTS) * 3).requires_grad_()
    y = tanh(x)
    torch.testing.assert_close(y, torch.tanh(x), rtol=0, atol=3e-7)
    grad = torch.randn_like(y)
    (ours,) = torch.autograd.grad(y, x, grad)
    (reference,) = torch.autograd.grad(torch.tanh(x), x, grad)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-6)
    small = torch.randn(3, 5)
    torch.testing.assert_close(tanh(small), torch.tanh(small), rtol=0, atol=3e-7)


def test_the_c_tanh_kernels_over_the_whole_float_range():
    from sailfish.policies.activations import HAS_KERNEL, tanh_, tanh_backward_

    if not HAS_KERNEL:
        pytest.skip("the C core is not built")
    x = torch.linspace(-40, 40, 2_000_001)
    y = tanh_(x.clone())
    assert (y.double() - torch.tanh(x.double())).abs().max() <= 2e-7
    assert torch.equal(tanh_(torch.tensor([12.0, -12.0, 0.0])), torch.tensor([1.0, -1.0, 0.0]))
    special = tanh_(torch.tensor([float("nan"), float("inf"), -float("inf")]))
    assert special[0].isnan() and special[1] == 1 and special[2] == -1
    grad = torch.randn(1000)
    h = torch.rand(1000) * 2 - 1
    torch.testing.assert_close(tanh_backward_(grad.clone(), h), grad * (1 - h * h))
    # strided views and other dtypes take torch's own kernels
    view = torch.randn(8, 6)[:, ::2]
    torch.testing.assert_close(tanh_(view.clone()), torch.tanh(view), rtol=0, atol=3e-7)
    assert torch.equal(tanh_(torch.tensor([0.5], dtype=torch.float64)), torch.tanh(torch.tensor([0.5], dtype=torch.float64)))


def test_the_fast_tanh_runs_under_vmap_without_grad():
    # a vmapped population's rollout: batched tensors have no plain storage for the C kernel
    from torch.func import vmap

    from sailfish.policies.activations import tanh

    x = torch.randn(3, 16, 64)
    with torch.no_grad():
        torch.testing.assert_close(vmap(tanh)(x), torch.tanh(x), rtol=0, atol=3e-7)


def test_the_fast_tanh_differentiates_under_vmap():
    # a population's policies other than the plain MLP run through torch.func.vmap, where the batched
    # input does not show requires_grad while autograd records (the in-place passes broke backward)
    from torch.func import vmap

    from sailfish.policies.activations import FAST_MIN_ELEMENTS, tanh

    w = torch.randn(2, 64, 64, requires_grad=True)
    x = torch.randn(2, FAST_MIN_ELEMENTS // 64, 64)
    (ours,) = torch.autograd.grad(vmap(lambda w, x: tanh(x @ w))(w, x).sum(), w)
    (reference,) = torch.autograd.grad(torch.tanh(x @ w).sum(), w)
    torch.testing.assert_close(ours, reference)


class Shaped(gym.Env):
    """An env with the given observation space (for the encoder choice; it is never stepped)."""

    action_space = gym.spaces.Discrete(3)

    def __init__(self, observation_space):
        self.observation_space = observation_space

    def reset(self, seed=None, options=None):
        return self.observation_space.sample(), {}


@pytest.mark.parametrize("space,encoder", [
    (gym.spaces.Dict({"grid": gym.spaces.Box(0, 255, (5, 5, 3), np.uint8), "hp": gym.spaces.Discrete(3)}),
     "CombinedEncoder"),
    (gym.spaces.Tuple((gym.spaces.Box(0, 255, (3, 8, 8), np.uint8), gym.spaces.Box(-1, 1, (2,), np.float32))),
     "CombinedEncoder"),
    (gym.spaces.Dict({"grid": gym.spaces.Box(0, 1, (5, 5, 3), np.float32), "hp": gym.spaces.Discrete(3)}), "MLP"),
    (gym.spaces.Box(0, 255, (5, 5, 3), np.uint8), "CNN"),
])
def test_auto_encoder_gives_nested_observations_with_a_uint8_image_the_combined_encoder(space, encoder):
    from sailfish.train import Config
    from sailfish.vector import Serial

    env = Serial(lambda: Shaped(space), 2)
    policy = make_policy(env, Config())
    assert type(policy.encoder).__name__ == encoder
    env.reset(seed=0)
    params, value, _ = policy(torch.from_numpy(env.observations), None)
    assert params.shape == (2, 3) and torch.isfinite(value).all()


def test_combined_encoder_on_an_env_without_an_image_is_refused():
    from sailfish.train import Config
    from sailfish.vector import Serial

    env = Serial(lambda: Shaped(gym.spaces.Box(-1, 1, (4,), np.float32)), 1)
    with pytest.raises(ValueError, match='encoder: "combined" needs a Dict or Tuple observation with an image'):
        make_policy(env, Config(encoder="combined"))


def test_a_gaussian_takes_the_masks_argument_but_refuses_masks():
    from sailfish.policies import DiagGaussian

    dist, params = DiagGaussian(2), torch.zeros(3, 4)
    assert dist.sample(params, None, None)[0].shape == (3, 2) and dist.mode(params, None).shape == (3, 2)
    with pytest.raises(ValueError, match="no legal-action masks"):
        dist.sample(params, None, torch.ones(3, 2, dtype=torch.bool))


# ---------------------------------------------------------------- the connect4 board encoder
def test_connect4_encoder_planes_are_own_other_and_playable_cells():
    from sailfish.policies.board import Connect4Encoder
    from test_connect4 import game

    rows = [".......",
            ".......",
            ".......",
            "...O...",
            "..XX...",
            "O.XOX.."]
    env = game(rows)
    obs = torch.from_numpy(env.observations)
    planes = Connect4Encoder(env.single_observation_space, hidden=8).planes(obs).reshape(3, 6, 7)
    as_text = lambda plane: ["".join("#" if v else "." for v in row) for row in plane.tolist()]
    assert as_text(planes[0]) == [".......", ".......", ".......", ".......", "..##...", "..#.#.."]
    assert as_text(planes[1]) == [".......", ".......", ".......", "...#...", ".......", "#..#..."]
    assert as_text(planes[2]) == [".......", ".......", "...#...", "..#....", "#...#..", ".#...##"]


def test_connect4_encoder_is_picked_by_config_trains_and_refuses_other_observations():
    import sailfish
    from sailfish.policies.board import Connect4Encoder
    from sailfish.train import Trainer

    env = sailfish.make("connect4", num_envs=8, seed=0, log_interval=0)
    config = Config(env="connect4", encoder="connect4", hidden_size=32, window_filters=16, num_envs=8,
                    rollout_steps=8, bptt_horizon=8, minibatch_size=32, total_steps=128, runs_dir="")
    trainer = Trainer(env, config=config)
    assert isinstance(trainer.policy.encoder, Connect4Encoder)
    assert trainer.policy.encoder.window.out_channels == 16 and trainer.policy.encoder.fc.in_features == 16 * 12
    before = [p.detach().clone() for p in trainer.policy.parameters()]
    trainer.run()
    trainer.close()
    assert trainer.global_step >= 128
    assert all(not torch.equal(a, b) for a, b in zip(before, trainer.policy.parameters()))  # every layer learns
    env.close()
    with pytest.raises(ValueError, match="connect4 observation"):
        Connect4Encoder(Box(-1, 1, (42,), np.float32))
    with pytest.raises(ValueError, match="window_filters: must be > 0"):
        Config(env="connect4", encoder="connect4", window_filters=0)


def test_a_mirror_symmetric_connect4_policy_plays_a_mirrored_board_as_its_mirror_image():
    import copy

    import sailfish
    from sailfish.train import Trainer

    env = sailfish.make("connect4", num_envs=64, seed=0, log_interval=0)
    config = Config(env="connect4", encoder="connect4", hidden_size=32, window_filters=16, mirror_symmetric=True,
                    num_envs=64, rollout_steps=8, bptt_horizon=8, minibatch_size=256, total_steps=1024, runs_dir="")
    trainer = Trainer(env, config=config)
    trainer.run()  # after updates, not only at initialisation
    trainer.close()
    policy = trainer.policy
    with torch.no_grad():
        for p in policy.parameters():  # and for any weights the ties allow, not only small trained ones
            p.add_(torch.randn_like(p))
    obs = torch.from_numpy(env.observations).float()
    obs = obs[obs[:, :42].abs().sum(1) > 0]  # mid-game boards, not the empty ones of games just reset
    assert len(obs) > 8
    mirrored = torch.cat([obs[:, :42].reshape(-1, 6, 7).flip(-1).reshape(-1, 42), obs[:, 42:].flip(-1)], 1)
    logits, value, _ = policy(obs)
    m_logits, m_value, _ = policy(mirrored)
    assert not torch.allclose(logits, logits.flip(-1), atol=1e-3)  # the boards themselves are not symmetric
    torch.testing.assert_close(m_logits, logits.flip(-1), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(m_value, value, atol=1e-4, rtol=1e-4)
    rebuilt = make_policy(env, config)
    rebuilt.load_state_dict(policy.state_dict())  # a checkpoint or a league snapshot acts the same
    assert torch.equal(rebuilt(obs)[0], logits) and torch.equal(copy.deepcopy(policy)(obs)[0], logits)
    with pytest.raises(ValueError, match="must be even"):
        make_policy(env, Config(env="connect4", encoder="connect4", window_filters=15, mirror_symmetric=True))
    with pytest.raises(ValueError, match='needs encoder = "connect4"'):
        make_policy(env, Config(env="connect4", encoder="mlp", mirror_symmetric=True))
    env.close()
