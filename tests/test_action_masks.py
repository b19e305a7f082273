"""Legal-action masks end to end: where the adapters find them, the masked distributions, the
experience and the update, and tic-tac-toe trained with them."""
import logging
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import sailfish
from sailfish.emulation import ActionMaskFromInfo, emulate
from sailfish.policies import Categorical, MultiCategorical
from sailfish.train import Config, Trainer
from sailfish.train.evaluate import mean_episode_stat


def random_masks(shape, blocks, seed):
    """Random bool masks with at least one legal action in each block of columns."""
    rng = np.random.default_rng(seed)
    masks = rng.random((*shape, sum(blocks))) < 0.4
    start = 0
    for n in blocks:
        block = masks[..., start:start + n]
        pick = rng.integers(0, n, size=shape)
        np.put_along_axis(block, pick[..., None], True, axis=-1)
        start += n
    return torch.from_numpy(masks)


def test_categorical_never_samples_a_masked_action():
    dist = Categorical(7)
    masks = random_masks((4096,), [7], seed=0)
    params = torch.randn(4096, 7) * 3
    params[~masks] += 20.0  # masked actions would be the likeliest ones
    generator = torch.Generator().manual_seed(0)
    for _ in range(10):
        actions, _ = dist.sample(params, generator, masks)
        assert masks.gather(1, actions[:, None]).all()
    assert masks.gather(1, dist.mode(params, masks)[:, None]).all()


def test_multicategorical_never_samples_a_masked_action_in_any_component():
    dist = MultiCategorical([3, 5])
    masks = random_masks((4096,), [3, 5], seed=1)
    params = torch.randn(4096, 8) * 3
    params[~masks] += 20.0
    generator = torch.Generator().manual_seed(0)
    for _ in range(10):
        actions, _ = dist.sample(params, generator, masks)
        assert masks[:, :3].gather(1, actions[:, :1]).all()
        assert masks[:, 3:].gather(1, actions[:, 1:]).all()


def test_masked_logprob_and_entropy_are_the_renormalised_legal_distribution():
    logits = torch.tensor([[1.0, 2.0, 0.5, -1.0]])
    masks = torch.tensor([[True, False, True, False]])
    # by hand: p(0) = e^1 / (e^1 + e^0.5), p(2) = e^0.5 / (e^1 + e^0.5)
    z = math.exp(1.0) + math.exp(0.5)
    p0, p2 = math.exp(1.0) / z, math.exp(0.5) / z
    logprob, entropy = Categorical(4).logprob_entropy(logits, torch.tensor([2]), masks)
    assert logprob.item() == pytest.approx(math.log(p2), abs=1e-6)
    assert entropy.item() == pytest.approx(-(p0 * math.log(p0) + p2 * math.log(p2)), abs=1e-6)
    _, sampled_logprob = Categorical(4).sample(logits, torch.Generator().manual_seed(0), masks)
    assert sampled_logprob.item() in (pytest.approx(math.log(p0), abs=1e-6), pytest.approx(math.log(p2), abs=1e-6))

    # MultiDiscrete: the log-probability sums and the entropy adds over components, each renormalised
    logits2 = torch.tensor([[0.0, 3.0, 1.0, -2.0, 0.3]])  # components of 2 and 3
    masks2 = torch.tensor([[True, True, False, True, True]])
    logprob2, entropy2 = MultiCategorical([2, 3]).logprob_entropy(logits2, torch.tensor([[1, 2]]), masks2)
    q = torch.softmax(torch.tensor([0.0, 3.0]), 0)
    r = torch.softmax(torch.tensor([-2.0, 0.3]), 0)
    assert logprob2.item() == pytest.approx(math.log(q[1]) + math.log(r[1]), abs=1e-6)
    assert entropy2.item() == pytest.approx(float(-(q * q.log()).sum() - (r * r.log()).sum()), abs=1e-6)


def test_without_a_mask_the_distributions_are_unchanged():
    params = torch.randn(64, 5)
    actions = torch.randint(0, 5, (64,))
    assert torch.equal(Categorical(5).logprob_entropy(params, actions)[0],
                       Categorical(5).logprob_entropy(params, actions, torch.ones(64, 5, dtype=torch.bool))[0])


class MaskedInfoEnv(gym.Env):
    """Discrete(4); info["action_mask"] allows actions {t % 4, (t + 1) % 4} at step t."""

    observation_space = gym.spaces.Box(0, 10, (1,), np.float32)
    action_space = gym.spaces.Discrete(4)

    def _mask(self):
        mask = np.zeros(4, np.int8)
        mask[[self.t % 4, (self.t + 1) % 4]] = 1
        return mask

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(1, np.float32), {"action_mask": self._mask()}

    def step(self, action):
        self.t += 1
        return np.full(1, self.t, np.float32), 0.0, False, self.t >= 6, {"action_mask": self._mask()}


def test_a_gymnasium_info_action_mask_fills_the_vector_envs_action_masks():
    env = sailfish.vector.make(lambda: ActionMaskFromInfo(MaskedInfoEnv()), num_envs=2, backend="serial",
                               log_interval=0)
    assert env.single_observation_space.shape == (1,)  # the env's own observation, the mask split off
    env.reset(seed=0)
    assert env.action_masks.shape == (2, 4) and env.action_masks[:, :2].all() and not env.action_masks[:, 2:].any()
    env.step(np.zeros(2, np.int64))
    assert env.action_masks[0].tolist() == [False, True, True, False]
    env.close()


def test_a_dict_observation_mask_is_split_off_the_observation():
    pytest.importorskip("pettingzoo.classic")
    from pettingzoo.classic import tictactoe_v3

    adapter = emulate(tictactoe_v3.env())
    assert adapter.observation_layout.shape == (18,)  # the 3x3x2 board; the 9-entry mask is not in it
    adapter.reset(seed=0)
    adapter.rows.actions[0] = 4
    adapter.step()
    mover = int(np.flatnonzero(adapter.rows.masks)[0])
    assert adapter.rows.action_masks[mover].tolist() == [i != 4 for i in range(9)]


def test_no_env_without_masks_gets_a_mask_buffer():
    env = sailfish.vector.make("CartPole-v1", num_envs=2, backend="serial", log_interval=0)
    native = sailfish.make("cartpole", num_envs=2)
    assert env.action_masks is None and native.action_masks is None
    trainer = Trainer(native, config=Config(num_envs=2, rollout_steps=16, minibatch_size=32, runs_dir=""))
    assert trainer.experience.action_masks is None and "action_masks" not in trainer.experience.tensors()
    env.close()


def test_multiprocessing_workers_write_the_masks_into_shared_memory():
    pytest.importorskip("pettingzoo.classic")
    from pettingzoo.classic import tictactoe_v3

    envs = [sailfish.vector.make(tictactoe_v3.env, num_envs=4, backend=b, seed=0, log_interval=0,
                                 **({"num_workers": 2} if b == "multiprocessing" else {}))
            for b in ("serial", "multiprocessing")]
    try:
        for env in envs:
            env.reset(seed=0)
        for step in range(6):
            assert np.array_equal(envs[0].action_masks, envs[1].action_masks)
            legal = envs[0].action_masks.argmax(1)  # a legal move for every row
            for env in envs:
                env.step(legal)
    finally:
        for env in envs:
            env.close()


def tictactoe_trainer(**overrides):
    from pettingzoo.classic import tictactoe_v3

    config = Config.load(None, {"num_envs": 16, "rollout_steps": 32, "bptt_horizon": 16, "runs_dir": "",
                                "log_seconds": 0, "precision": "fp32", **overrides})
    env = sailfish.vector.make(tictactoe_v3.env, num_envs=config.num_envs, backend="serial", seed=0, log_interval=0)
    return env, Trainer(env, config=config)


def test_the_first_update_scores_the_behaviour_policy_with_its_masks():
    pytest.importorskip("pettingzoo.classic")
    env, trainer = tictactoe_trainer(update_epochs=1, minibatch_size=1024)
    try:
        trainer.collect()
        exp = trainer.experience
        live = exp.masks
        assert exp.action_masks.shape == (32, 32, 9)
        # no stored action of a deciding row is illegal
        assert exp.action_masks.gather(2, exp.actions[..., None]).squeeze(2)[live].all()
        assert not exp.action_masks[live].all()  # and the masks did forbid something
        trainer.update()  # one minibatch of the whole batch: its ratio is behaviour vs itself
        assert torch.allclose(exp.ratios[live], torch.ones(()), atol=1e-5)
    finally:
        env.close()


def test_tictactoe_with_masks_trains_and_makes_no_illegal_move():
    pytest.importorskip("pettingzoo.classic")
    logging.getLogger("pettingzoo.utils.env_logger").setLevel(logging.ERROR)  # random play's illegal moves
    env, trainer = tictactoe_trainer(total_steps=20_000)
    try:
        trainer.run()
        # An illegal move gives the mover -1 and the other 0, a legal game +1/-1 or 0/0: the mean
        # return per agent-episode is -0.5 x the share of games ended by an illegal move.
        masked, _ = mean_episode_stat(env, trainer.policy, 300, "episode_return", seed=3)
        random_play, _ = mean_episode_stat(env, None, 300, "episode_return", seed=3)
    finally:
        env.close()
    print("illegal-move rate (masked policy, random play):", -2 * masked, -2 * random_play)
    assert -2 * random_play > 0.8
    assert abs(masked) < 1e-9
