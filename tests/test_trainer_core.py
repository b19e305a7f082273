"""The trainer's parts: a constructor without side effects, experience as named fields, metrics
that mean one thing whatever the hyperparameters, and the renamed names."""
import math

import gymnasium
import pytest
import torch

import sailfish
from sailfish.train import Config, Trainer
from sailfish.train.experience import Experience

SMALL = dict(num_envs=8, rollout_steps=32, bptt_horizon=16, minibatch_size=64, update_epochs=2, runs_dir="")


def test_constructing_a_trainer_touches_no_disk_and_no_global_state(tmp_path):
    torch.manual_seed(123)
    rng_before, threads_before = torch.get_rng_state(), torch.get_num_threads()
    config = Config.load("cartpole", {**SMALL, "runs_dir": str(tmp_path / "runs"), "torch_threads": threads_before + 1})
    env = sailfish.make("cartpole", num_envs=8, seed=0)
    trainer = Trainer(env, config=config)
    assert not (tmp_path / "runs").exists()
    assert torch.equal(torch.get_rng_state(), rng_before) and torch.get_num_threads() == threads_before
    trainer.start()
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("cartpole-") and (run_dir / "config.toml").is_file()
    trainer.close()
    torch.set_num_threads(threads_before)


def test_the_run_directory_is_named_after_the_env_actually_trained(tmp_path):
    env = sailfish.vector.make(lambda: gymnasium.make("CartPole-v1"), num_envs=4)
    config = Config(total_steps=256, num_envs=4, rollout_steps=32, minibatch_size=64, runs_dir=str(tmp_path))
    Trainer(env, config=config).run()
    env.close()
    (run_dir,) = tmp_path.iterdir()
    assert run_dir.name.startswith("CartPole-v1-"), run_dir.name


def test_the_same_seed_gives_the_same_training_whatever_the_global_generator():
    def params_after_one_iteration(global_seed):
        torch.manual_seed(global_seed)
        config = Config.load("cartpole", SMALL)
        trainer = Trainer(sailfish.make("cartpole", num_envs=8, seed=0), config=config)
        trainer.iteration()
        return torch.cat([p.detach().flatten() for p in trainer.policy.parameters()])

    assert torch.equal(params_after_one_iteration(1), params_after_one_iteration(2))


@pytest.mark.parametrize("ent_coef", [0.0, 1e-9])
def test_the_entropy_metric_is_the_policys_entropy_whatever_ent_coef(ent_coef):
    config = Config.load("cartpole", {**SMALL, "ent_coef": ent_coef})
    trainer = Trainer(sailfish.make("cartpole", num_envs=8, seed=0), config=config)
    trainer.iteration()
    # the fresh policy is near uniform over 2 actions: the mean over the update's minibatches is ~ln 2
    assert trainer.metrics()["losses/entropy"] == pytest.approx(math.log(2), abs=0.02)


def test_an_epochs_shuffled_minibatches_cover_every_segment_once():
    exp = Experience(rows=4, steps=32, segment_length=8, obs_shape=(3,), obs_dtype="float32", action_shape=(),
                     action_dtype=torch.int64, device="cpu")
    exp.values.copy_(torch.arange(4 * 32, dtype=torch.float32).view(4, 32))
    batches = list(exp.minibatches(32, [torch.Generator().manual_seed(0)]))
    assert len(batches) == 4 and all(mb.values.shape == (1, 4, 8) for mb in batches)  # [members, segments, steps]
    seen = torch.cat([mb.values.flatten() for mb in batches]).sort().values
    assert torch.equal(seen, exp.values.flatten())
    (whole,) = exp.minibatches(128, [torch.Generator()])  # one minibatch of everything: no gather
    assert whole.index is None and whole.values.data_ptr() == exp.values.data_ptr()


def test_a_forced_mirror_keeps_device_tensors_apart_from_the_host_buffers():
    exp = Experience(rows=2, steps=16, segment_length=8, obs_shape=(3,), obs_dtype="uint8", action_shape=(),
                     action_dtype=torch.int64, device="cpu", mirror=True)
    exp.host_np["obs"][:, 3] = 7
    exp.host_np["masks"][1, 5] = False
    assert exp.obs.data_ptr() != exp.host["obs"].data_ptr() and not exp.obs.any()
    exp.to_device()
    assert torch.equal(exp.obs, exp.host["obs"]) and exp.any_padding()


def test_old_names_still_work_for_one_release_with_a_warning():
    with pytest.warns(FutureWarning, match="log_seconds"):
        config = Config.load("cartpole", {**SMALL, "log_interval": 0.5})
    assert config.log_seconds == 0.5
    trainer = Trainer(sailfish.make("cartpole", num_envs=8, seed=0), config=config)
    trainer.collect()
    with pytest.warns(DeprecationWarning, match="update"):
        trainer.learn()
    assert trainer.update_count == 1
    with pytest.warns(FutureWarning, match="num_threads"):
        env = sailfish.vector.make("breakout", num_envs=4, backend="native", num_workers=2)
    assert env.num_threads == 2 and env.num_rows == env.num_envs == 4


def test_vector_envs_count_rows_and_instances_apart():
    env = sailfish.make("snake", num_envs=2)
    assert (env.num_instances, env.num_rows) == (2, 2 * env.agents_per_env)


def test_first_weights_do_not_depend_on_the_thread_count_before_the_trainer():
    # orthogonal init runs LAPACK, whose last bits differ between thread counts: the trainer sets its
    # own count before it builds the policy
    config = Config.load("breakout", {"runs_dir": "", "torch_threads": 1, "num_envs": 8, "minibatch_size": 256})
    weights = []
    for before in (2, 1):
        torch.set_num_threads(before)
        env = sailfish.make("breakout", num_envs=8, seed=0, log_interval=0)
        weights.append(Trainer(env, config=config).policy.state_dict())
        assert torch.get_num_threads() == before  # constructing a trainer leaves the count as it was
        env.close()
    for name, a in weights[0].items():
        assert torch.equal(a, weights[1][name]), name
