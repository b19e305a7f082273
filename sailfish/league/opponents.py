"""Opponents: what acts on the rows of a multi-row env that the learner does not own.

An ``Opponent`` maps a batch of observations to a batch of actions. ``PolicyOpponent`` is a frozen
copy of a policy (a snapshot of the learner, or a checkpoint of any run with the same spaces), acting
through the C rollout step (``sailfish.train.fused_act``) where that serves it: its weights are packed
once, since a frozen policy never changes;
``RandomLegalOpponent`` is a scripted bot that reads legal-move flags from the observation,
``FollowBallOpponent`` one that moves a pong paddle towards the ball, and ``Connect4Bot`` connect4's
own one-ply and minimax bots (``connect4_bot.h``, the env's 1-player opponents) played per row: each
row's observation holds the whole board from its side, which is all the C bot needs.
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
        fused: act through ``FusedAct`` where it serves the policy (the default MLP with a categorical
            head, on CPU in fp32); it takes the same draws from the generator as the torch path.
    """

    def __init__(self, policy: torch.nn.Module, action_space: gym.Space, name: str = "snapshot", seed: int = 0,
                 greedy: bool = False, fused: bool = True):
        if getattr(policy, "is_recurrent", False):
            raise ValueError(f"{name}: recurrent policies cannot be opponents yet (their per-row state is not "
                             "carried by OpponentEnv); train the learner with recurrent = false")
        self.policy = copy.deepcopy(policy).cpu().eval().requires_grad_(False)
        self.dist = getattr(self.policy, "dist", None) or make_distribution(action_space)
        self.name, self.greedy = name, greedy
        self.generator = torch.Generator().manual_seed(int(seed))
        self._fused = None
        if fused:  # FusedAct.begin refuses what it does not serve (another head, a CNN, CUDA, bf16)
            from sailfish.train.fused_act import FusedAct

            self._fused = FusedAct(self.dist)
            if not self._fused.begin(self.policy):
                self._fused = None

    def act(self, observations: torch.Tensor, action_masks: torch.Tensor | None = None) -> torch.Tensor:
        """Actions for ``observations`` (a batch of rows), never a masked one."""
        if self._fused is not None:
            if self.greedy:
                return self._fused.mode(observations, action_masks)
            return self._fused(observations, self.generator, action_masks)[0]
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
                        name: str | None = None, seed: int = 0, greedy: bool = False,
                        fused: bool = True) -> "PolicyOpponent":
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
        return cls(policy, action_space, name or f"{config.env}@{file.name}", seed, greedy, fused)


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


class Connect4Bot:
    """Connect4's scripted bot on rows of a 2-row connect4 (``players = 2``), the same C code as the
    1-player env's opponent: ``"onestep"`` (wins in one, else blocks a win in one, else a centre-weighted
    random column), ``"minimax"`` (alpha-beta to ``depth`` plies) or ``"random"``. Rows are decided in one
    C call; its RNG stream is seeded from this bot's own generator (``seed``), so a bot's games are
    reproducible."""

    KINDS = {"onestep": 0, "minimax": 1, "random": 2}

    def __init__(self, kind: str = "onestep", depth: int = 4, seed: int = 0, name: str | None = None):
        from sailfish import _native

        if kind not in self.KINDS:
            raise ValueError(f"connect4 bot: kind must be one of {sorted(self.KINDS)}, got {kind!r}")
        self._native, self.kind, self.depth = _native, kind, int(depth)
        self.name = name or (f"bot:minimax{depth}" if kind == "minimax" else f"bot:{kind}")
        self.rng = np.random.default_rng(seed)

    def act(self, observations: torch.Tensor, action_masks: torch.Tensor | None = None) -> torch.Tensor:
        """One column per row (0 where a row's board is full: a padding row, whose action is ignored)."""
        obs = np.ascontiguousarray(observations.numpy(), dtype=np.float32)
        actions = np.zeros(len(obs), np.int64)
        self._native.connect4_bot_actions(obs, actions, self.KINDS[self.kind], self.depth,
                                          seed=int(self.rng.integers(2**63)))
        return torch.from_numpy(actions)


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
    """A scripted bot by name for ``env_name`` (connect4: ``"onestep"``, ``"minimax<depth>"`` such as
    ``"minimax4"``, ``"random"``; pong: ``"follow"``), or ``ValueError`` saying which exist."""
    if env_name == "connect4":
        if bot in ("onestep", "random"):
            return Connect4Bot(bot, seed=seed)
        depth = bot.removeprefix("minimax")
        if bot.startswith("minimax") and depth.isdigit() and 1 <= int(depth) <= 10:
            return Connect4Bot("minimax", int(depth), seed=seed)
    if env_name == "pong" and bot == "follow":
        return FollowBallOpponent()
    raise ValueError(f"bot:{bot}: no scripted bot {bot!r} for {env_name!r} (connect4 has bot:onestep, "
                     "bot:minimax<depth> with depth 1-10, bot:random; pong bot:follow)")
