"""Runs on disk: run directory contents, checkpoint → resume equivalence, recovery after SIGKILL."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import torch

import sailfish
from sailfish.train import Config, Trainer
from sailfish.train.checkpoint import checkpoint_paths, load_checkpoint

SMALL = dict(num_envs=8, rollout_steps=32, bptt_horizon=16, minibatch_size=128, update_epochs=2)


def small_config(tmp_path, **overrides):
    return Config.load("cartpole", {"runs_dir": str(tmp_path), "total_steps": 8 * 32 * 6, **SMALL, **overrides})


def make_env(config):
    return sailfish.make(config.env, num_envs=config.num_envs, seed=config.seed, log_interval=0)


def test_run_directory_holds_config_metrics_events_and_checkpoints(tmp_path):
    config = small_config(tmp_path, checkpoint_interval=2, log_seconds=0)
    trainer = Trainer(make_env(config), config=config)
    trainer.run()
    run_dir = trainer.run_dir
    assert run_dir.parent == tmp_path and run_dir.name.startswith("cartpole-")
    assert Config.load(path=run_dir / "config.toml") == config
    lines = (run_dir / "metrics.csv").read_text().splitlines()
    assert lines[0].split(",")[0] == "step" and "losses/approx_kl" in lines[0] and len(lines) == 1 + 6
    assert any(p.name.startswith("events.out.tfevents") for p in run_dir.iterdir())
    assert [p.name for p in checkpoint_paths(run_dir)] == ["model_00000002.pt", "model_00000004.pt",
                                                          "model_00000006.pt"]
    payload = load_checkpoint(checkpoint_paths(run_dir)[-1])
    assert payload["update"] == 6 and payload["global_step"] == 6 * 8 * 32
    assert set(payload) >= {"policy", "optimizer", "generator", "shuffle_rng", "config"}


def test_resume_gives_the_same_next_update_as_an_uninterrupted_run(tmp_path):
    config = small_config(tmp_path, checkpoint_interval=0)
    uninterrupted = Trainer(make_env(config), config=config)
    for _ in range(3):
        uninterrupted.iteration()
    uninterrupted.save()
    uninterrupted.collect()
    batch = {k: v.clone() for k, v in uninterrupted.experience.tensors().items()}
    uninterrupted.update()

    resumed = Trainer(make_env(config), config=config, resume=uninterrupted.run_dir)
    resumed.start()  # restores the checkpoint
    assert (resumed.update_count, resumed.global_step) == (3, 3 * 8 * 32)
    for name, tensor in resumed.experience.tensors().items():
        tensor.copy_(batch[name])
    resumed.update()

    for (name, a), b in zip(uninterrupted.policy.state_dict().items(), resumed.policy.state_dict().values()):
        assert torch.equal(a, b), name
    state_a, state_b = uninterrupted.optimizer.state_dict(), resumed.optimizer.state_dict()
    assert state_a["param_groups"] == state_b["param_groups"] and state_a["steps"] == state_b["steps"]
    for a, b in zip(state_a["exp_avg"] + state_a["exp_avg_sq"], state_b["exp_avg"] + state_b["exp_avg_sq"]):
        assert torch.equal(a, b)


def test_recurrent_resume_gives_the_same_next_update(tmp_path):
    config = Config.load("memory", {"runs_dir": str(tmp_path), "total_steps": 10_000, **SMALL,
                                    "checkpoint_interval": 0})
    first = Trainer(make_env(config), config=config)
    first.iteration()
    first.save()
    first.collect()
    batch = {k: v.clone() for k, v in first.experience.tensors().items()}
    first.update()
    resumed = Trainer(make_env(config), config=config, resume=first.run_dir)
    resumed.start()
    for name, tensor in resumed.experience.tensors().items():
        tensor.copy_(batch[name])
    resumed.update()
    for a, b in zip(first.policy.parameters(), resumed.policy.parameters()):
        assert torch.equal(a, b)


def test_run_killed_with_sigkill_resumes_from_its_last_intact_checkpoint(tmp_path):
    import queue
    import threading

    import pytest

    from sailfish.train.checkpoint import load_newest_intact

    # The child saves checkpoints 1-5, then is held inside the write of checkpoint 6 (its bytes are in
    # the temporary file, not yet fsynced or renamed) and says so on stdout: the SIGKILL lands there.
    script = textwrap.dedent(f"""
        import os, threading
        import sailfish
        from sailfish.train import Config, Trainer

        class HeldMidWrite(Trainer):
            def save(self):
                if self.update_count == 6:
                    def hold(fd):
                        print("HELD-MID-WRITE", self.update_count, flush=True)
                        threading.Event().wait()
                    os.fsync = hold
                return super().save()

        config = Config.load("cartpole", dict(runs_dir={str(tmp_path)!r}, total_steps=10**9, checkpoint_interval=1,
                                              keep_checkpoints=3, **{SMALL!r}))
        env = sailfish.make("cartpole", num_envs=config.num_envs, seed=0, log_interval=0)
        HeldMidWrite(env, config=config).run()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)  # end of output: the child exited

    threading.Thread(target=pump, daemon=True).start()
    output, deadline = [], time.monotonic() + 120
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail("training child did not reach the write of checkpoint 6 within 120 s; its output:\n"
                            + "".join(output[-30:]))
            if line is None:
                proc.wait()
                pytest.fail(f"training child exited (status {proc.returncode}) before the write of checkpoint 6; "
                            f"its output:\n" + "".join(output[-30:]))
            output.append(line)
            if line.startswith("HELD-MID-WRITE"):
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    run_dir = next(tmp_path.iterdir())
    folder = run_dir / "checkpoints"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".tmp-")] != []  # killed mid-write
    assert [p.name for p in checkpoint_paths(run_dir)] == ["model_00000003.pt", "model_00000004.pt",
                                                          "model_00000005.pt"]
    path, newest = load_newest_intact(run_dir)
    assert path.name == "model_00000005.pt" and (newest["update"], newest["global_step"]) == (5, 5 * 8 * 32)

    config = Config.load(path=run_dir / "config.toml").replace(total_steps=newest["global_step"] + 2 * 8 * 32)
    resumed = Trainer(make_env(config), config=config, resume=run_dir)
    resumed.start()  # restores the checkpoint
    assert (resumed.update_count, resumed.global_step) == (5, 5 * 8 * 32)
    resumed.run()
    assert resumed.update_count == 7
    assert load_checkpoint(checkpoint_paths(run_dir)[-1])["update"] == 7


def _pendulum(tmp_path, **overrides):
    # Box actions and no TOML of its own: reward_norm comes from defaults_for_spaces
    return Config.load("gym:Pendulum-v1", {"runs_dir": str(tmp_path), "num_envs": 4, "rollout_steps": 64,
                                           "minibatch_size": 128, "update_epochs": 2, "total_steps": 10**6,
                                           "checkpoint_interval": 0, "torch_threads": 1, **overrides})


def test_resume_continues_the_reward_normalisation_of_the_run(tmp_path):
    from sailfish.train import make_env as make_run_env

    config = _pendulum(tmp_path)
    assert config.reward_norm
    uninterrupted = Trainer(make_run_env(config), config=config)
    for _ in range(3):
        uninterrupted.iteration()
    uninterrupted.save()
    saved = uninterrupted.env.state_dict()
    assert saved["count"] == 3 * 64 * 4 + 1e-4 and saved["var"] > 10  # Pendulum's returns are far from unit scale
    assert load_checkpoint(checkpoint_paths(uninterrupted.run_dir)[-1])["reward_norm"] == saved

    resumed = Trainer(make_run_env(config), config=config, resume=uninterrupted.run_dir)
    resumed.start()  # restores the checkpoint, resets the env into fresh episodes
    assert resumed.env.state_dict() == saved
    # the uninterrupted run on the same fresh episodes (the resumed run's seed): the same batch, the
    # rewards scaled by the same statistics, which then move on identically
    uninterrupted.collector.begin(config.seed + 1_000_003 * uninterrupted.update_count)
    uninterrupted.collect()
    resumed.collect()
    a, b = uninterrupted.experience, resumed.experience
    assert torch.equal(a.obs, b.obs) and torch.equal(a.actions, b.actions)
    assert torch.equal(a.rewards, b.rewards)
    assert resumed.env.state_dict() == uninterrupted.env.state_dict()

    # and the check can fail: statistics started afresh scale the same rewards differently
    fresh = Trainer(make_run_env(config), config=config, resume=uninterrupted.run_dir)
    fresh.start()
    fresh.env.load_state_dict({"mean": 0.0, "var": 1.0, "count": 1e-4})
    fresh.collect()
    assert torch.equal(fresh.experience.obs[:, 0], b.obs[:, 0]) and not torch.allclose(fresh.experience.rewards,
                                                                                          b.rewards)
    for trainer in (uninterrupted, resumed, fresh):
        trainer.close()
        trainer.env.close()


def test_each_population_member_resumes_its_own_reward_normalisation(tmp_path):
    from sailfish.train.env import make_member_env

    configs = [_pendulum(tmp_path, seed=s, obs_norm=False) for s in (0, 1)]  # obs_norm: not in populations yet
    first = Trainer(make_member_env(configs), config=configs)
    for _ in range(2):
        first.iteration()
    first.save()
    saved = [norm.state_dict() for norm in first.reward_norms]
    assert saved[0] != saved[1]  # each member's own env stream, its own statistics
    resumed = Trainer(make_member_env(configs), config=configs, resume=first.run_dir)
    resumed.start()
    assert [norm.state_dict() for norm in resumed.reward_norms] == saved
    for trainer in (first, resumed):
        trainer.close()
        trainer.env.close()
