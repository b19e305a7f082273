"""Records a snake arena of a ``sailfish train snake --self-play`` run as a GIF: the run's newest
policy plays the blue snakes, one of its own earlier checkpoints (a past self) the orange ones.

    python docs/snake_arena_gif.py RUN_DIR [--rival FILE] [--out docs/snake_arena.gif] [--steps 256]

``--rival`` defaults to the run's oldest checkpoint. The arena is the run's own (its env_config:
``horizon``, snakes) and the learner's seats are the league file's ``learner_rows_per_env`` first
snakes (the first arena, before any seat rotation). Both sides sample their actions.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sailfish.commands.eval import save_gif
from sailfish.league.opponents import PolicyOpponent
from sailfish.league.self_play import league_file, load_league_file
from sailfish.league.wrapper import OpponentEnv
from sailfish.policies import make_policy
from sailfish.train import make_env
from sailfish.train.checkpoint import load_checkpoint, resolve_checkpoint
from sailfish.train.config import Config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a snake self-play run directory (or one of its checkpoints)")
    p.add_argument("--rival", help="the past self's checkpoint (default: the run's oldest)")
    p.add_argument("--out", default="docs/snake_arena.gif")
    p.add_argument("--steps", type=int, default=256, help="frames to record (default: one 256-step arena)")
    p.add_argument("--fps", type=int, default=20)
    p.add_argument("--seed", type=int, default=3)
    args = p.parse_args()
    newest = resolve_checkpoint(args.run)
    rival = Path(args.rival) if args.rival else min(newest.parent.glob("model_*.pt"))
    payload = load_checkpoint(newest)
    config = Config.load(overrides=dict(payload["config"]))
    _, league = load_league_file(league_file("snake"))
    learner_rows = int(league["learner_rows_per_env"])
    config = config.replace(env_config={**config.env_config, "render_teams": learner_rows})
    env = make_env(config, num_envs=1, seed=args.seed)
    opponent = PolicyOpponent.from_checkpoint(rival, env.single_observation_space, env.single_action_space,
                                              name="past self", seed=args.seed)
    arena = OpponentEnv(env, learner_rows, opponent, seed=args.seed)
    policy = make_policy(arena, config)
    policy.load_state_dict(payload["policy"])
    policy.eval()
    generator = torch.Generator().manual_seed(args.seed)
    obs = torch.from_numpy(arena.observations)
    frames = []
    arena.reset(seed=args.seed)
    with torch.inference_mode():
        for _ in range(args.steps):
            frames.append(arena.render(0))
            params, _, _ = policy(obs, None)
            actions, _ = policy.dist.sample(params, generator)
            arena.actions[:] = actions.numpy().reshape(arena.actions.shape)
            arena.step(arena.actions)
    arena.close()
    save_gif(frames, args.out, args.fps)
    print(f"wrote {args.out}: {len(frames)} frames, {newest.name} (blue) vs {rival.name} (orange)")


if __name__ == "__main__":
    main()
