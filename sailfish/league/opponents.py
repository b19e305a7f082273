"""Opponents: what acts on the rows of a multi-row env that the learner does not own.

An ``Opponent`` maps a batch of observations to a batch of actions. ``PolicyOpponent`` is a frozen
copy of a policy (a snapshot of the learner, or a checkpoint of any run with the same spaces);
``RandomLegalOpponent`` is a scripted bot that reads legal-move flags from the observation, and
``FollowBallOpponent`` one that moves a pong paddle towards the ball.

Connect4's one-ply and minimax bots live in C (``connect4_bot.h``) and are reachable only from the
env's 1-player mode (``opponent = 0 / 1``): they read the env's bitboards and RNG, which a Python
opponent acting on a 2-row env's observations does not have. Exposing them per row would need a new
binding entry point into every env that has a bot; until one exists, those bots are played with
``players = 1`` (``sailfish eval connect4 RUN --vs bot:onestep``) and the league holds snapshots,
checkpoints and the random bot.
"""
from __future__ import annotations

import copy
import os
from typing import Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch

from sailfish.policies import make_distribution


@runtime_checkable
class Opponent(Protocol):
    """Acts on opponent rows. ``act`` gets observations ``[B, *obs_shape]`` (a CPU tensor) and, for an env
    with legal-action masks (``env.action_masks``), those rows' masks ``[B, n]`` (True = legal; None
    otherwise), and returns actions ``[B, *action_shape]`` in the env's action dtype; it is called under
    ``torch.inference_mode()``."""

    name: str

    def act(self, observations: torch.Tensor, action_masks: torch.Tensor | None = None) -> torch.Tensor: ...


def _space_text(observation_space: gym.Space, action_space: gym.Space) -> str:
    return f"observations {observation_space}, actions {action_space}"


def same_spaces(a: tuple[gym.Space, gym.Space], b: tuple[gym.Space, gym.Space]) -> bool:
    """True when two (observation, action) space pairs describe the same rows (shape, dtype, bounds)."""
    return all(x == y for x, y in zip(a, b))


class PolicyOpponent:
    """A frozen policy playing opponent rows: actions sampled from its distribution with its own
    generator (``greedy``: the most likely action instead).

    Args:
        policy: a feedforward module of the ``sailfish.policies`` interface; it is deep-copied, so later
            updates of the original do not reach the opponent.
        action_space: one row's action space (chooses the distribution).
        name: how the league and logs call it.
        seed: seed of the opponent's own action generator.
        greedy: take the distribution's mode instead of sampling.
    """

    def __init__(self, policy: torch.nn.Module, action_space: gym.Space, name: str = "snapshot", seed: int = 0,
                 greedy: bool = False):
        if getattr(policy, "is_recurrent", False):
            raise ValueError(f"{name}: recurrent policies cannot be opponents yet (their per-row state is not "
                             "carried by OpponentEnv); train the learner with recurrent = false")
        self.policy = copy.deepcopy(policy).cpu().eval().requires_grad_(False)
        self.dist = getattr(self.policy, "dist", None) or make_distribution(action_space)
        self.name, self.greedy = name, greedy
        self.generator = torch.Generator().manual_seed(int(seed))

    def act(self, observations: torch.Tensor, action_masks: torch.Tensor | None = None) -> torch.Tensor:
        """Actions for ``observations`` (a batch of rows), never a masked one."""
        params, _, _ = self.policy(observations, None)
        if self.greedy:
            return self.dist.mode(params.float(), action_masks)
        actions, _ = self.dist.sample(params.float(), self.generator, action_masks)
        return actions

    def state_dict(self) -> dict:
        """The weights (tensors only), for a league's saved state."""
        return {k: v.detach().clone() for k, v in self.policy.state_dict().items()}

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, observation_space: gym.Space, action_space: gym.Space,
                        name: str | None = None, seed: int = 0, greedy: bool = False) -> "PolicyOpponent":
        """The policy of a run's checkpoint (a ``model_<update>.pt`` file or a run directory: its newest),
        loaded safely with ``load_checkpoint``.

        Raises:
            ValueError: the checkpoint's run has other observation/action spaces than these, or its
                weights do not fit the policy its config builds.
        """
        from sailfish.train.checkpoint import load_checkpoint, resolve_checkpoint
        from sailfish.train.config import Config
        from sailfish.train.env import env_spaces

        file = resolve_checkpoint(path)
        payload = load_checkpoint(file)
        config = Config(**payload["config"])
        here = (observation_space, action_space)
        there = env_spaces(config.env, config.env_config)
        if there is not None and not same_spaces(there, here):
            raise ValueError(f"opponent checkpoint {file}: its run ({config.env!r}) has {_space_text(*there)}; "
                             f"this env has {_space_text(*here)}. Only a run with the same spaces can be an "
                             "opponent")
        policy = policy_for_spaces(observation_space, action_space, config)
        try:
            policy.load_state_dict(payload["policy"])
        except RuntimeError as e:  # shapes: a run whose spaces are unknown here (a factory env)
            raise ValueError(f"opponent checkpoint {file}: its weights do not fit this env's "
                             f"{_space_text(*here)} ({str(e).splitlines()[0]})") from None
        return cls(policy, action_space, name or f"{config.env}@{file.name}", seed, greedy)


class _Spaces:
    """The two attributes ``make_policy`` reads from an env."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space):
        self.single_observation_space, self.single_action_space = observation_space, action_space
        self.observations = np.zeros((1, *observation_space.shape), observation_space.dtype)
        self.actions = np.zeros((1, *action_space.shape), action_space.dtype)


def policy_for_spaces(observation_space: gym.Space, action_space: gym.Space, config) -> torch.nn.Module:
    """``config``'s default policy for rows of these spaces (weights from ``config.seed``)."""
    from sailfish.policies.stacked import make_member_policies

    return make_member_policies(_Spaces(observation_space, action_space), [config])


class RandomLegalOpponent:
    """A scripted bot: a uniformly random legal action, the legal ones read from flags in the
    observation (``observations[:, legal_slice] > 0``; connect4: the last 7 values). ``seed``: its generator."""

    def __init__(self, legal_slice: slice, name: str = "bot:random", seed: int = 0):
        self.legal_slice, self.name = legal_slice, name
        self.generator = torch.Generator().manual_seed(int(seed))

    def act(self, observations: torch.Tensor, action_masks: torch.Tensor | None = None) -> torch.Tensor:
        """One legal action per row (the first action where a row has none)."""
        legal = (observations[:, self.legal_slice] > 0 if action_masks is None else action_masks).float()
        legal[legal.sum(1) == 0, 0] = 1.0
        return torch.multinomial(legal, 1, generator=self.generator).squeeze(1)


class FollowBallOpponent:
    """A scripted pong paddle for rows seen from their own side (pong ``players = 2``): up (action 1) when the
    ball is more than ``dead_zone`` above the paddle's centre, down (2) when below, else stay (0). It moves at
    the agent's paddle speed, faster than the 1-player opponent's cap, yet steep returns still beat it (the
    ball's vertical speed can reach twice the paddle's)."""

    def __init__(self, dead_zone: float = 0.05, name: str = "bot:follow"):
        self.dead_zone, self.name = dead_zone, name

    def act(self, observations: torch.Tensor, action_masks: torch.Tensor | None = None) -> torch.Tensor:
        """One action per row from its ``[own paddle y, other paddle y, ball x, ball y, ...]``."""
        offset = observations[:, 3] - observations[:, 0]
        return torch.where(offset < -self.dead_zone, 1, torch.where(offset > self.dead_zone, 2, 0))


def scripted_bot(env_name: str, bot: str, seed: int = 0) -> Opponent:
    """A scripted bot by name for ``env_name`` (``"random"`` for connect4, ``"follow"`` for pong), or
    ``ValueError`` saying which exist."""
    if env_name == "connect4" and bot == "random":
        from sailfish.envs import spec

        return RandomLegalOpponent(spec("connect4").legal_flags, name="bot:random", seed=seed)
    if env_name == "pong" and bot == "follow":
        return FollowBallOpponent()
    raise ValueError(f"bot:{bot}: no per-row scripted bot for {env_name!r} (connect4 has bot:random, pong "
                     "bot:follow; connect4's one-ply and minimax bots are played with players = 1: sailfish eval "
                     "--vs bot:onestep)")
