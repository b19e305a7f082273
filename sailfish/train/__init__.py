"""Training: ``Config``, the PPO ``Trainer``, loss pieces (``ppo``), advantages and checkpoints."""
from sailfish.train.config import Config
from sailfish.train.env import make_env
from sailfish.train.trainer import Trainer

__all__ = ["Config", "Trainer", "make_env"]
