"""Training: ``Config``, the PPO ``Trainer``, loss pieces (``ppo``), advantages and checkpoints.

``Trainer`` and ``make_env`` load on first use, so code that only builds or validates a
``Config`` (the CLI's argument checks, an ablation's parent process) does not import torch.
"""
from typing import TYPE_CHECKING, Any

from sailfish.train.config import Config

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads them
    from sailfish.train.env import make_env
    from sailfish.train.trainer import Trainer

__all__ = ["Config", "Trainer", "make_env"]


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        from sailfish.train.trainer import Trainer

        return Trainer
    if name == "make_env":
        from sailfish.train.env import make_env

        return make_env
    raise AttributeError(f"module 'sailfish.train' has no attribute {name!r}")
