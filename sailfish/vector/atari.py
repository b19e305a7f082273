"""Atari through ale-py's ``AtariVectorEnv`` (C++ envs on a thread pool, ROMs in the wheel), with the
standard preprocessing, as a Sailfish vector env.

What ale-py does natively (constructor arguments) and what is added here:

| preprocessing | where |
| --- | --- |
| 84x84 grey frames, 4 stacked, as ``[4, 84, 84]`` uint8 | ale-py (``img_height``/``img_width``, ``grayscale``, ``stack_num``) |
| frameskip 4, max-pool over the last two frames | ale-py (``frameskip``, ``maxpool``) |
| up to 30 no-op actions at the start of a game | ale-py (``noop_max``) |
| FIRE after a reset, in games that need it | ale-py (``use_fire_reset``) |
| episodic life: a terminal for training on each lost life, the game going on | ale-py's ``life_loss_info`` (its ``episodic_life`` restarts the whole game on a lost life, so it is not used) |
| reward clipping to {-1, 0, 1} for training | here: ale-py's ``reward_clipping`` would hide the real score |
| episode statistics of whole games (all lives) with unclipped rewards | here |

The env runs in ale-py's SAME_STEP autoreset mode, so a lost life is a terminal with the game
going on, and a game over (or the 108,000-frame truncation) is a terminal whose observation is
the next game's first. A game over is told from a lost life by the frame counter restarting
(``info["episode_frame_number"]`` going down), which holds for every game, with or without lives.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from sailfish.vector.gymnasium_vector import GymnasiumVectorEnv


def rom_name(game: str) -> str:
    """ale-py's ROM id for a game name: ``"Pong"`` -> ``"pong"``, ``"MsPacman"`` -> ``"ms_pacman"``
    (snake_case names pass unchanged); ``ValueError`` naming a few known ones if there is no such ROM."""
    from ale_py import roms

    rom = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", game.removesuffix("NoFrameskip-v4").removesuffix("-v5")).lower()
    if rom not in roms.get_all_rom_ids():
        known = ", ".join(sorted(roms.get_all_rom_ids())[:8])
        raise ValueError(f"atari: no ROM for game {game!r} (ale-py ids are snake_case: {known}, ...)")
    return rom


class AtariVecEnv(GymnasiumVectorEnv):
    """``num_envs`` Atari games of ``game`` with the standard preprocessing (module docstring).

    Args:
        game: the game (``"Pong"``, ``"Breakout"``, ``"ms_pacman"``, ...).
        num_envs: games stepped together.
        seed: seeds game ``i`` with ``seed + i`` at the first ``reset()``.
        num_threads: ale-py's C++ threads (0 = one per core).
        episodic_life: a terminal (for training) on every lost life; the statistics still count games.
        clip_rewards: rewards the trainer sees are ``sign(reward)``; the statistics keep the real ones.
        **ale_kwargs: more ``ale_py.vector_env.AtariVectorEnv`` arguments (``noop_max``,
            ``frameskip``, ``repeat_action_probability``, ``max_num_frames_per_episode``, ...).

    ``episode_stats()`` gives means over finished games: ``episode_return`` and ``score`` are the
    game's real score (unclipped, all lives), ``episode_length`` its agent steps.
    """

    def __init__(self, game: str, num_envs: int = 8, *, seed: int | None = 0, num_threads: int = 0,
                 episodic_life: bool = True, clip_rewards: bool = True, log_interval: int = 0, **ale_kwargs: Any):
        from sailfish._extras import require

        vector_env = require("ale_py.vector_env", "atari")
        settings: dict[str, Any] = dict(frameskip=4, maxpool=True, stack_num=4, img_height=84, img_width=84,
                                        grayscale=True, noop_max=30, use_fire_reset=True,
                                        repeat_action_probability=0.0, max_num_frames_per_episode=108_000)
        settings.update(ale_kwargs)
        env = vector_env.AtariVectorEnv(rom_name(game), num_envs, num_threads=num_threads, autoreset_mode="SameStep",
                                        episodic_life=False, life_loss_info=episodic_life, reward_clipping=False,
                                        **settings)
        super().__init__(env, name=f"atari_{game}", log_interval=log_interval)
        self.game, self.clip_rewards, self._seed = game, bool(clip_rewards), seed
        self.raw_rewards = np.zeros(num_envs, np.float32)  # the real rewards of the latest step
        self._frame = np.zeros(num_envs, np.int64)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Starts new games (game ``i`` seeded ``seed + i``; None: the constructor's seed the first time)."""
        if seed is None:
            seed, self._seed = self._seed, None
        out = super().reset(seed=seed, options=options)
        self._frame[:] = self.last_infos["episode_frame_number"]
        return out

    def _episode_signal(self, done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frame = self.last_infos["episode_frame_number"]
        game_over = done & (frame < self._frame)  # the frame counter restarted: a new game began
        self._frame[:] = frame
        self.raw_rewards[:] = self.rewards
        if self.clip_rewards:
            np.sign(self.rewards, out=self.rewards)
        return self.raw_rewards, game_over
