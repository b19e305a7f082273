"""``sailfish eval <env> <run-or-checkpoint> [--episodes N] [--gif out.gif] [--vs bot:NAME|RUN2]``: play
a trained policy.

Prints the mean episode return, length and score over ``--episodes`` episodes; ``--gif`` also records
the first episode of env 0 with the native RGB renderer (Pillow: the ``[plot]`` extra). ``--vs
bot:NAME`` (connect4) plays a match against a scripted opponent instead, half the games moving first,
and prints win, draw and loss rates with 95% Wilson intervals (scipy: the ``[stats]`` extra). ``--vs
RUN2`` (connect4, pong) plays the run against another run's policy, each on one side of the env's
two-row mode (``players = 2``), and prints the same rates; with ``--gif`` it records the first game.
"""
from __future__ import annotations

import argparse

import numpy as np

from sailfish._extras import require
from sailfish.commands._common import fail

COMMAND = "eval"
GIF = "GIF recording (--gif)"
MATCH = "a match (--vs)"
# connect4's scripted opponents by --vs name: the env parameters that select each (minimax<depth>
# adds opponent_depth). opponent_skill 1: every move uses the bot's lookahead or search.
BOTS = {"onestep": {"opponent": 0}, "random": {"opponent": 2}, "minimax": {"opponent": 1}}
BOT_ENVS = ("connect4",)
# envs with a two-row mode (players = 2: both sides are agent rows), where a run can play another run
TWO_ROW_ENVS = ("connect4", "pong")
# env parameters of a scripted opponent or of the one-row mode, dropped for a run-against-run match
ONE_ROW_PARAMS = ("opponent", "opponent_depth", "opponent_skill", "agent_first", "opponent_speed")


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
    p.add_argument("--vs", metavar="bot:NAME|RUN2",
                   help="play a match against a scripted opponent (connect4): bot:onestep (the one-ply "
                        "opponent it trains against), bot:minimax<depth> (e.g. bot:minimax4) or bot:random, "
                        "--episodes games, half moving first; or against another run's policy (connect4, pong: "
                        "a run directory or checkpoint), the env's two-row mode alternating the sides")
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
    legal = legal_action_masks(env)
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
            actions = policy_actions(policy, params, legal, deterministic)
            np.copyto(env.actions, actions.numpy().reshape(env.actions.shape), casting="unsafe")
            _, rewards, terminals, truncations, _ = env.step(env.actions)
            returns += rewards
            lengths += 1
            np.logical_or(terminals, truncations, out=done)
            if recording and (done[0] or len(gif_frames) >= max_frames):
                if done[0]:  # connect4 draws its finished board here; other envs show the next start
                    gif_frames.append(env.render(0))
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


def legal_action_masks(env) -> torch.Tensor | None:
    """A tensor view of ``env.action_masks`` (rewritten in place by every step), or None without them."""
    import torch

    masks = getattr(env, "action_masks", None)
    return None if masks is None else torch.from_numpy(masks)


def policy_actions(policy, params: torch.Tensor, legal: torch.Tensor | None, deterministic: bool) -> torch.Tensor:
    """The policy's actions from its output ``params``, never one ``legal`` (the env's legal-action
    masks, or None) rules out: the most likely with ``deterministic``, else sampled."""
    if deterministic:
        return policy.dist.mode(params, legal)
    return policy.dist.sample(params, None, legal)[0]


def bot_config(vs: str) -> dict[str, int]:
    """The connect4 parameters of the opponent ``vs`` names (``bot:onestep``, ``bot:minimax<depth>``,
    ``bot:random``). Raises ``ValueError`` with a one-line message for anything else."""
    names = "bot:onestep, bot:minimax<depth> (e.g. bot:minimax4) or bot:random"
    if not vs.startswith("bot:"):
        raise ValueError(f"--vs {vs}: not a scripted opponent; use {names}, or a run directory or checkpoint")
    name = vs[4:]
    if name in ("onestep", "random"):
        return dict(BOTS[name])
    depth = name[len("minimax"):]
    if name.startswith("minimax") and depth.isdigit():
        from sailfish.envs import spec

        (param,) = [p for p in spec("connect4").params if p["name"] == "opponent_depth"]
        if not param["low"] <= int(depth) <= param["high"]:
            raise ValueError(f"--vs {vs}: the minimax depth must be {param['low']:g} to {param['high']:g}")
        return {**BOTS["minimax"], "opponent_depth": int(depth)}
    raise ValueError(f"--vs {vs}: unknown bot {name!r}; use {names}")


def play_match(make_side, policy, games: int, deterministic: bool = False,
               max_envs: int = 64, moves: dict[str, list] | None = None) -> dict[str, np.ndarray]:
    """Play ``games`` games of a two-outcome-plus-draw env against its scripted opponent, the first
    ``ceil(games / 2)`` moving first and the rest second.

    Args:
        make_side: ``make_side(agent_first: bool, num_envs: int)`` returns a vector env whose every
            episode is one game, its final reward the outcome (+1 win, 0 draw, -1 loss).
        policy: the trained policy; ``deterministic`` takes its most likely action.
        max_envs: envs stepped at once per side.
        moves: if given, ``moves[side]`` gets each counted game's actions of the policy, a tuple
            per game. Their distinct count is a lower bound on the distinct games a match held:
            greedy play against a search repeats a few games, so 400 results need not be 400 samples.

    Returns:
        ``{"first": counts, "second": counts}``, each an int array ``[wins, draws, losses]``. Every
        env plays a fixed quota of games, so short games are not over-represented.
    """
    import torch

    counts = {}
    for side, n in (("first", (games + 1) // 2), ("second", games // 2)):
        counts[side] = np.zeros(3, dtype=np.int64)
        if n == 0:
            continue
        num_envs = min(n, max_envs)
        quota = np.full(num_envs, n // num_envs) + (np.arange(num_envs) < n % num_envs)
        env = make_side(side == "first", num_envs)
        try:
            played = np.zeros(num_envs, dtype=np.int64)
            games_moves = [[] for _ in range(num_envs)]
            obs_t = torch.from_numpy(env.observations)
            legal = legal_action_masks(env)
            env.reset()
            state = policy.initial_state(num_envs, "cpu") if getattr(policy, "is_recurrent", False) else None
            with torch.inference_mode():
                while (played < quota).any():
                    params, _, state = policy(obs_t, state)
                    actions = policy_actions(policy, params, legal, deterministic)
                    np.copyto(env.actions, actions.numpy().reshape(env.actions.shape), casting="unsafe")
                    if moves is not None:
                        for i, action in enumerate(env.actions.reshape(num_envs, -1).tolist()):
                            games_moves[i].append(tuple(action))
                    _, rewards, terminals, truncations, _ = env.step(env.actions)
                    done = np.logical_or(terminals, truncations)
                    for i in np.flatnonzero(done & (played < quota)):
                        counts[side][1 - int(np.sign(rewards[i]))] += 1  # +1 -> wins, 0 -> draws, -1 -> losses
                        played[i] += 1
                        if moves is not None:
                            moves.setdefault(side, []).append(tuple(games_moves[i]))
                    if moves is not None:
                        for i in np.flatnonzero(done):
                            games_moves[i] = []
                    if state is not None:
                        keep = torch.from_numpy(~done).unsqueeze(1).float()
                        state = tuple(s * keep for s in state)
        finally:
            env.close()
    return counts


def wilson_interval(k: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion ``k / n`` (scipy: the ``[stats]`` extra)."""
    stats = require("scipy.stats", MATCH)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def match_report(env_name: str, vs: str, counts: dict[str, np.ndarray]) -> list[str]:
    """The lines ``sailfish eval --vs`` prints: rates with 95% Wilson intervals, then counts per side."""
    total = counts["first"] + counts["second"]
    n, rates = int(total.sum()), rate_text(total)
    per_side = " | ".join(f"moving {side}: {c[0]} won, {c[1]} drawn, {c[2]} lost" for side, c in counts.items())
    return [f"{env_name} vs {vs}: {n} games | {rates} (95% Wilson)", f"  {per_side}"]


def rate_text(counts: np.ndarray) -> str:
    """``win r [lo, hi] | draw ... | loss ...`` of ``[wins, draws, losses]``, with 95% Wilson intervals."""
    n = int(counts.sum())
    return " | ".join(f"{name} {k / n:.3f} [{lo:.3f}, {hi:.3f}]" for name, k in zip(("win", "draw", "loss"), counts)
                      for lo, hi in [wilson_interval(int(k), n)])


def trained_policy(env, config, payload: dict):
    """The policy ``config`` builds for ``env``, with the checkpoint's weights, in eval mode."""
    from sailfish.policies import make_policy

    policy = make_policy(env, config)
    policy.load_state_dict(payload["policy"])
    return policy.eval()


def save_gif(frames: list, path: str, fps: int) -> None:
    """Write RGB frames ``(H, W, 3) uint8`` as a looping GIF (Pillow: the ``[plot]`` extra)."""
    Image = require("PIL.Image", GIF)
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=max(1, round(1000 / fps)), loop=0)


def run(args: argparse.Namespace) -> int:
    """Execute ``sailfish eval``; returns 0, or exits with status 2 and a one-line error."""
    import torch

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
        versus = args.vs is not None and not args.vs.startswith("bot:")
        if versus:
            if args.env not in TWO_ROW_ENVS:
                raise ValueError(f"--vs {args.vs}: a run can play another run in {', '.join(TWO_ROW_ENVS)} only "
                                 f"(their two-row mode), not {args.env!r}")
            other = resolve_checkpoint(args.vs)
            require("scipy.stats", MATCH)
        elif args.vs is not None:
            opponent = bot_config(args.vs)
            if args.env not in BOT_ENVS:
                raise ValueError(f"--vs: scripted opponents exist for {', '.join(BOT_ENVS)} only, not {args.env!r}")
            if args.gif:
                raise ValueError("--vs bot:NAME and --gif cannot be combined; record a GIF without --vs, "
                                 "or against another run")
            require("scipy.stats", MATCH)
    except ValueError as e:
        fail(COMMAND, str(e))
    torch.set_num_threads(1)
    if versus:
        return _run_versus(args, config, payload, path, other)
    if args.vs is not None:
        return _run_match(args, config, payload, opponent, path)
    num_envs = 1 if args.gif else min(args.episodes, 16)
    try:
        env = make_env(config, num_envs=num_envs, seed=args.seed)
    except ValueError as e:
        fail(COMMAND, str(e))
    policy = trained_policy(env, config, payload)
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


def _run_match(args: argparse.Namespace, config, payload: dict, opponent: dict[str, int], path) -> int:
    from sailfish.train import make_env

    # One agent row against the bot at full skill, raw rewards (their sign is the outcome).
    base = config.replace(reward_norm=False, env_config={**config.env_config, "players": 1, "opponent_skill": 1.0,
                                                         **opponent})

    def make_side(agent_first: bool, num_envs: int):
        side = base.replace(env_config={**base.env_config, "agent_first": 1.0 if agent_first else 0.0})
        return make_env(side, num_envs=num_envs, seed=args.seed + (0 if agent_first else 1))

    try:
        probe = make_side(True, 1)
    except ValueError as e:
        fail(COMMAND, str(e))
    policy = trained_policy(probe, config, payload)
    probe.close()
    counts = play_match(make_side, policy, args.episodes, args.deterministic)
    for line in match_report(args.env, args.vs, counts):
        print(line)
    print(f"  checkpoint {path}")
    return 0


def versus_config(config):
    """A run's config for a match against another run: the env's two-row mode (``players = 2``), no
    scripted-opponent or one-row parameters, raw rewards (their sign is the outcome)."""
    env_config = {k: v for k, v in config.env_config.items() if k not in ONE_ROW_PARAMS}
    return config.replace(reward_norm=False, env_config={**env_config, "players": 2})


def play_versus(env, policy, games: int, deterministic: bool = False,
                gif_frames: list | None = None) -> np.ndarray:
    """Play ``games`` games of ``env`` (an ``OpponentEnv``: one learner row per instance, the other
    side played by its opponent) with ``policy`` on the learner's rows; returns ``[wins, draws, losses]``
    by the sign of each game's return for the learner. ``gif_frames``: instance 0's frames of its
    first game are appended to it. Every instance plays a fixed quota of games."""
    import torch

    num_envs = env.num_rows
    quota = np.full(num_envs, games // num_envs) + (np.arange(num_envs) < games % num_envs)
    counts, played = np.zeros(3, dtype=np.int64), np.zeros(num_envs, dtype=np.int64)
    returns = np.zeros(num_envs, dtype=np.float64)
    obs_t = torch.from_numpy(env.observations)
    legal = legal_action_masks(env)
    env.reset()
    state = policy.initial_state(num_envs, "cpu") if getattr(policy, "is_recurrent", False) else None
    recording = gif_frames is not None
    with torch.inference_mode():
        while (played < quota).any():
            if recording:
                gif_frames.append(env.render(0))
            params, _, state = policy(obs_t, state)
            actions = policy_actions(policy, params, legal, deterministic)
            np.copyto(env.actions, actions.numpy().reshape(env.actions.shape), casting="unsafe")
            _, rewards, terminals, truncations, _ = env.step(env.actions)
            returns += rewards
            done = np.logical_or(terminals, truncations)
            for i in np.flatnonzero(done & (played < quota)):
                counts[1 - int(np.sign(returns[i]))] += 1  # > 0 -> wins, 0 -> draws, < 0 -> losses
                played[i] += 1
            if recording and done[0]:  # connect4 draws its finished board here; other envs the next start
                gif_frames.append(env.render(0))
                recording = False
            returns[done] = 0.0
            if state is not None:
                keep = torch.from_numpy(~done).unsqueeze(1).float()
                state = tuple(s * keep for s in state)
    return counts


def _run_versus(args: argparse.Namespace, config, payload: dict, path, other) -> int:
    from sailfish.league.opponents import PolicyOpponent
    from sailfish.league.wrapper import OpponentEnv
    from sailfish.train import make_env

    match = versus_config(config)
    num_envs = 1 if args.gif else min(args.episodes, 64)
    try:
        env = make_env(match, num_envs=num_envs, seed=args.seed)
        rival = PolicyOpponent.from_checkpoint(other, env.single_observation_space, env.single_action_space,
                                               seed=args.seed, greedy=args.deterministic)
        env = OpponentEnv(env, 1, rival, seed=args.seed)
    except ValueError as e:
        fail(COMMAND, str(e))
    policy = trained_policy(env, config, payload)
    frames: list | None = [] if args.gif else None
    try:
        counts = play_versus(env, policy, args.episodes, args.deterministic, frames)
    finally:
        env.close()
    print(f"{args.env} vs {other}: {int(counts.sum())} games | {rate_text(counts)} (95% Wilson)")
    print(f"  {counts[0]} won, {counts[1]} drawn, {counts[2]} lost; the env's two-row mode alternates the sides "
          f"(connect4: who moves first; pong: who receives first)")
    print(f"  checkpoint {path}")
    if frames:
        save_gif(frames, args.gif, args.fps)
        print(f"wrote {args.gif} ({len(frames)} frames)")
    return 0
