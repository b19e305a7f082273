"""``sailfish eval <env> <run-or-checkpoint> [--episodes N] [--gif out.gif]``: play a trained policy.

Prints the mean episode return, length and score over ``--episodes`` episodes; ``--gif`` also records
the first episode of env 0 with the native RGB renderer (Pillow: the ``[plot]`` extra).
"""
from __future__ import annotations

import argparse

import numpy as np

from sailfish._extras import require
from sailfish.commands._common import fail

COMMAND = "eval"
GIF = "GIF recording (--gif)"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``eval`` on an ``argparse`` subparsers object; returns its parser."""
    p = subparsers.add_parser(COMMAND, help="evaluate a trained policy", description=__doc__.split("\n\n")[0],
                              allow_abbrev=False)
    p.add_argument("env", help="environment name")
    p.add_argument("checkpoint", metavar="run-or-checkpoint", help="a run directory (newest checkpoint) or a .pt file")
    p.add_argument("--episodes", type=_positive_int, default=10, help="episodes to play (default 10)")
    p.add_argument("--gif", metavar="PATH", help="write the first episode of env 0 as an animated GIF")
    p.add_argument("--fps", type=_positive_int, default=30, help="GIF frame rate (default 30)")
    p.add_argument("--seed", type=int, default=12345, help="env seed (default 12345)")
    p.add_argument("--deterministic", action="store_true", help="take the most likely action instead of sampling")
    p.add_argument("--env-config", metavar="KEY=VALUE[,KEY=VALUE]", default="",
                   help="override env parameters of the run, e.g. a render crop (mmo: render_cells=48,render_follow=0)")
    p.set_defaults(run=run)
    return p  # a StrictParser (sailfish.cli): bad input is one line, exit status 2


def _positive_int(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(value)


def evaluate(env, policy, episodes: int, deterministic: bool = False, gif_frames: list | None = None,
             max_frames: int = 2000) -> dict[str, float]:
    """Play until ``episodes`` episodes have finished; returns means and the std of returns."""
    import torch

    n = env.num_envs
    returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    done_returns, done_lengths = [], []
    state = policy.initial_state(n, "cpu") if getattr(policy, "is_recurrent", False) else None
    obs_t = torch.from_numpy(env.observations)
    done = np.ones(n, dtype=bool)
    scores, score_weights = 0.0, 0
    recording = gif_frames is not None
    env.reset()
    env.episode_stats()
    with torch.inference_mode():
        # A many-agent env finishes other rows' episodes first: keep playing until row 0's is recorded.
        while len(done_returns) < episodes or recording:
            if recording:
                gif_frames.append(env.render(0))
            if state is not None:
                keep = torch.from_numpy(~done).unsqueeze(1).float()
                state = tuple(s * keep for s in state)
            params, _, state = policy(obs_t, state)
            actions = policy.dist.mode(params) if deterministic else policy.dist.sample(params)[0]
            np.copyto(env.actions, actions.numpy().reshape(env.actions.shape), casting="unsafe")
            _, rewards, terminals, truncations, _ = env.step(env.actions)
            returns += rewards
            lengths += 1
            np.logical_or(terminals, truncations, out=done)
            if recording and (done[0] or len(gif_frames) >= max_frames):
                recording = False
            for i in np.flatnonzero(done):
                done_returns.append(returns[i])
                done_lengths.append(lengths[i])
                returns[i], lengths[i] = 0.0, 0
            stats = env.episode_stats()
            if stats.get("episodes"):
                scores += stats.get("score", 0.0) * stats["episodes"]
                score_weights += stats["episodes"]
    r = np.array(done_returns[:episodes])
    return {"episodes": len(r), "return": float(r.mean()), "return_std": float(r.std()),
            "length": float(np.mean(done_lengths[:episodes])),
            "score": scores / score_weights if score_weights else float("nan")}


def save_gif(frames: list, path: str, fps: int) -> None:
    """Write RGB frames ``(H, W, 3) uint8`` as a looping GIF (Pillow: the ``[plot]`` extra)."""
    Image = require("PIL.Image", GIF)
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=max(1, round(1000 / fps)), loop=0)


def run(args: argparse.Namespace) -> int:
    """Execute ``sailfish eval``; returns 0, or exits with status 2 and a one-line error."""
    import torch

    from sailfish.policies import make_policy
    from sailfish.train.checkpoint import load_checkpoint, resolve_checkpoint
    from sailfish.train import make_env
    from sailfish.train.config import Config

    from sailfish.train.env import check_env_name

    try:
        check_env_name(args.env)
        path = resolve_checkpoint(args.checkpoint)
        try:
            payload = load_checkpoint(path)  # an unsafe file raises its own one-line ValueError
        except (RuntimeError, OSError, EOFError) as e:
            raise ValueError(f"{path}: not a readable checkpoint ({type(e).__name__})") from None
        if not isinstance(payload.get("config"), dict) or "policy" not in payload:
            raise ValueError(f"{path}: not a Sailfish checkpoint (no 'config' and 'policy' entries)")
        config = Config.load(overrides=dict(payload["config"]))
        if args.env_config:
            config = config.replace(env_config={**config.env_config, **Config.load(
                overrides={"env_config": args.env_config}).env_config})
        if config.env != args.env:
            raise ValueError(f"{path}: trained on {config.env!r}, not {args.env!r}")
        if args.gif:
            require("PIL.Image", GIF)  # checked before the episodes run; sailfish.cli words the error
    except ValueError as e:
        fail(COMMAND, str(e))
    torch.set_num_threads(1)
    num_envs = 1 if args.gif else min(args.episodes, 16)
    try:
        env = make_env(config, num_envs=num_envs, seed=args.seed)
    except ValueError as e:
        fail(COMMAND, str(e))
    policy = make_policy(env, config)
    policy.load_state_dict(payload["policy"])
    policy.eval()
    frames: list | None = [] if args.gif else None
    try:
        result = evaluate(env, policy, args.episodes, args.deterministic, frames)
    finally:
        env.close()
    print(f"{args.env}: {result['episodes']} episodes | return {result['return']:.2f} ± {result['return_std']:.2f} "
          f"| length {result['length']:.1f} | score {result['score']:.3f} | checkpoint {path}")
    if frames:
        save_gif(frames, args.gif, args.fps)
        print(f"wrote {args.gif} ({len(frames)} frames)")
    return 0
