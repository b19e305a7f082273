"""The GPU path on a real GPU (skipped here without one; `benchmarks/gpu.sh` runs these first)."""
import pytest
import torch

import sailfish
from sailfish.train import Config, Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def test_cartpole_trains_on_cuda_with_pinned_host_buffers_and_device_mirrors():
    config = Config.load("cartpole", {"device": "cuda", "runs_dir": "", "target_return": 400})
    trainer = Trainer(sailfish.make("cartpole", num_envs=config.num_envs, seed=0), config=config)
    assert trainer.experience.mirrored and trainer.experience.host["obs"].is_pinned()
    trainer.run()
    assert trainer.episodes.mean("episode_return") >= 400


def test_a_cuda_update_matches_the_cpu_update_on_the_same_experience():
    config = Config.load("cartpole", {"runs_dir": "", "update_epochs": 1})
    cpu = Trainer(sailfish.make("cartpole", num_envs=config.num_envs, seed=0), config=config)
    gpu = Trainer(sailfish.make("cartpole", num_envs=config.num_envs, seed=0), config=config.replace(device="cuda"))
    cpu.collect()
    gpu.start()
    for name, tensor in cpu.experience.tensors().items():
        getattr(gpu.experience, name).copy_(tensor)
        if name in gpu.experience.host:
            gpu.experience.host[name].copy_(tensor)
    cpu.update()
    gpu.update()
    for a, b in zip(cpu.policy.parameters(), gpu.policy.parameters()):
        torch.testing.assert_close(a, b.cpu(), rtol=1e-3, atol=1e-4)
