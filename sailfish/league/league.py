"""A league: a capped pool of opponents for the learner, prioritized fictitious self-play, ratings.

The pool holds frozen snapshots of the learner (``add_snapshot``, every ``snapshot_interval`` updates
in ``train_self_play``; the oldest is dropped past ``pool_size``) and, optionally, scripted bots (kept
for good, outside the cap). Matchmaking is prioritized fictitious self-play: opponent ``j`` is drawn
with probability proportional to ``(loss_rate_j + eps) ** power``, where ``loss_rate_j`` is how often
the learner lost its recent games against ``j`` (``power`` 0: uniform; larger: the opponents it loses
to most). Ratings are openskill's Plackett-Luce model, updated from finished games; the learner has
one rating, each opponent its own.

Everything the league saves (``state_dict``) is tensors, numbers, strings and dicts, so it goes into a
safe checkpoint (``sailfish.train.checkpoint``) next to the run's.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from sailfish._extras import require
from sailfish.league.opponents import Opponent, PolicyOpponent, scripted_bot


@dataclass
class LeagueConfig:
    """Settings of ``League`` and ``train_self_play`` (the ``[league]`` table of a league TOML file)."""

    snapshot_interval: int = 10  # updates between snapshots of the learner added to the pool
    pool_size: int = 8  # snapshots kept (the oldest is dropped); bots are not counted
    power: float = 1.0  # PFSP exponent on the loss rate (0: uniform over the pool)
    eps: float = 0.05  # added to every loss rate, so an opponent the learner always beats is still drawn
    bots: list = field(default_factory=list)  # scripted bots kept in the pool for good, e.g. ["random"]
    checkpoints: list = field(default_factory=list)  # other runs' checkpoints (files or run dirs) kept for good
    loss_window: int = 500  # games per opponent after which its counts are halved (recent games weigh more)
    rated_games_per_update: int = 256  # at most this many finished games update the ratings per update
    greedy: bool = False  # opponents play their policy's most likely action instead of sampling
    seed: int = 0  # matchmaking and opponents' action generators
    learner_rows_per_env: int = 1  # rows of each env instance the learner plays (snake: snakes); the rest: opponents
    alternate_seats: bool = False  # move the learner one seat on after each game (OpponentEnv), for unequal seats
    mirror_fraction: float = 0.0  # of the env instances, the learner plays every row of (against its live self)

    def __post_init__(self) -> None:
        for key, ok, rule in [("snapshot_interval", self.snapshot_interval >= 1, ">= 1"),
                              ("pool_size", self.pool_size >= 1, ">= 1"), ("power", self.power >= 0, ">= 0"),
                              ("eps", self.eps > 0, "> 0"), ("loss_window", self.loss_window >= 1, ">= 1"),
                              ("rated_games_per_update", self.rated_games_per_update >= 0, ">= 0"),
                              ("learner_rows_per_env", self.learner_rows_per_env >= 1, ">= 1"),
                              ("mirror_fraction", 0 <= self.mirror_fraction < 1, "in [0, 1)")]:
            if not ok:
                raise ValueError(f"[league] {key}: must be {rule}, got {getattr(self, key)!r}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "LeagueConfig":
        """From a ``[league]`` table; an unknown key raises ``ValueError`` naming it and the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"[league] {unknown[0]}: not a league setting (known: {', '.join(sorted(known))})")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class League:
    """The pool, matchmaking and ratings (implements ``OpponentEnv``'s ``Matchmaker``).

    Args:
        config: the league's settings.
        template: a policy of the learner's architecture; snapshots are copies of it with other weights.
        action_space: one row's action space (the opponents' distribution).
        env_name: the env's name, for scripted bots (``config.bots``).
        observation_space: one row's observation space (needed for ``config.checkpoints``).
        fused_act: snapshots and checkpoints act through the C rollout step where it serves them
            (``PolicyOpponent``'s ``fused``; the trainer passes ``Config.fused_act``).
    """

    def __init__(self, config: LeagueConfig, template: torch.nn.Module, action_space: gym.Space,
                 env_name: str = "", observation_space: gym.Space | None = None, fused_act: bool = True):
        self.openskill = require("openskill.models", "the league's ratings")
        self.model = self.openskill.PlackettLuce()
        self.config, self.template, self.action_space, self.env_name = config, template, action_space, env_name
        self.observation_space, self.fused_act = observation_space, fused_act
        self.entries: dict[int, dict[str, Any]] = {}  # id -> name, kind, counts, rating, weights
        self.opponents: dict[int, Opponent] = {}
        self.learner = self.model.rating()
        self.next_id = 0
        self.pending: list[tuple[int, float]] = []  # finished games not yet rated
        self.games = 0
        for bot in config.bots:
            self._add(scripted_bot(env_name, bot, seed=config.seed), "bot", None, added_update=0)
        for path in config.checkpoints:
            self._add(self._checkpoint(str(path)), "checkpoint", None, added_update=0)

    def _checkpoint(self, path: str) -> PolicyOpponent:
        if self.observation_space is None:
            raise ValueError("League: checkpoint opponents need the env's observation_space")
        opponent = PolicyOpponent.from_checkpoint(path, self.observation_space, self.action_space,
                                                  seed=self.config.seed, greedy=self.config.greedy,
                                                  fused=self.fused_act)
        opponent.path = path
        return opponent

    # ------------------------------------------------------------------ the pool
    def add_snapshot(self, policy: torch.nn.Module, update: int) -> int:
        """Adds a frozen copy of ``policy`` (rated as the learner is now); drops the oldest snapshot past
        ``pool_size``. Returns its id."""
        uid = self.next_id
        opponent = PolicyOpponent(policy, self.action_space, name=f"snapshot@{update}",
                                  seed=self.config.seed + 7919 * (uid + 1), greedy=self.config.greedy,
                                  fused=self.fused_act)
        self._add(opponent, "snapshot", opponent.state_dict(), update,
                  rating=(self.learner.mu, self.model.rating().sigma))
        snapshots = [i for i, e in self.entries.items() if e["kind"] == "snapshot"]
        for old in snapshots[:max(0, len(snapshots) - self.config.pool_size)]:
            del self.entries[old], self.opponents[old]
        return uid

    def _add(self, opponent: Opponent, kind: str, weights: dict | None, added_update: int,
             rating: tuple[float, float] | None = None) -> int:
        uid, self.next_id = self.next_id, self.next_id + 1
        r = self.model.rating() if rating is None else self.model.rating(mu=rating[0], sigma=rating[1])
        self.entries[uid] = {"name": opponent.name, "kind": kind, "path": getattr(opponent, "path", ""), "added_update": int(added_update), "games": 0.0,
                             "losses": 0.0, "draws": 0.0, "mu": float(r.mu), "sigma": float(r.sigma),
                             "weights": weights}
        self.opponents[uid] = opponent
        return uid

    # ------------------------------------------------------------------ matchmaking
    def probabilities(self) -> tuple[list[int], np.ndarray]:
        """The pool's ids and the PFSP probability of drawing each: ``(loss_rate + eps) ** power``, normalised."""
        ids = list(self.entries)
        if not ids:
            raise RuntimeError("League: the pool is empty; add_snapshot() (or list bots) before matchmaking")
        # an opponent not yet played counts as half lost (one imagined game)
        rates = np.array([(e["losses"] + 0.5 * e["draws"] + 0.5) / (e["games"] + 1.0)
                          for e in self.entries.values()])
        weights = (rates + self.config.eps) ** self.config.power
        return ids, weights / weights.sum()

    def sample(self, rng: np.random.Generator) -> int:
        """An opponent id drawn by PFSP."""
        ids, p = self.probabilities()
        return ids[int(rng.choice(len(ids), p=p))]

    def opponent(self, opponent_id: int) -> Opponent:
        return self.opponents[opponent_id]

    def record(self, opponent_id: int, learner_score: float) -> None:
        """A finished game: counts now, the rating at the next ``update_ratings()``. Games against an
        opponent dropped from the pool while they ran are not counted."""
        entry = self.entries.get(opponent_id)
        if entry is None:
            return
        self.games += 1
        entry["games"] += 1
        entry["losses"] += learner_score == 0.0
        entry["draws"] += learner_score == 0.5
        if entry["games"] > self.config.loss_window:
            for key in ("games", "losses", "draws"):
                entry[key] *= 0.5
        self.pending.append((opponent_id, learner_score))

    def update_ratings(self, rng: np.random.Generator | None = None) -> None:
        """Rates up to ``rated_games_per_update`` of the games recorded since the last call (a random
        subset past that: openskill costs ~50 us a game), in the order they ended."""
        games, self.pending = self.pending, []
        cap = self.config.rated_games_per_update
        if len(games) > cap:
            rng = rng or np.random.default_rng(self.games)
            games = [games[i] for i in np.sort(rng.choice(len(games), cap, replace=False))]
        for uid, score in games:
            entry = self.entries.get(uid)
            if entry is None:
                continue
            them = self.model.rating(mu=entry["mu"], sigma=entry["sigma"])
            ranks = [0, 0] if score == 0.5 else ([0, 1] if score == 1.0 else [1, 0])
            (self.learner,), (them,) = self.model.rate([[self.learner], [them]], ranks=ranks)
            entry["mu"], entry["sigma"] = float(them.mu), float(them.sigma)

    def learner_rating(self) -> dict[str, float]:
        """The learner's openskill rating: ``mu``, ``sigma`` and ``ordinal`` (mu - 3 sigma)."""
        return {"mu": float(self.learner.mu), "sigma": float(self.learner.sigma),
                "ordinal": float(self.learner.ordinal())}

    # ------------------------------------------------------------------ saving
    def state_dict(self) -> dict[str, Any]:
        """Pool weights, counts, ratings and the id counter (tensors, numbers, strings, dicts only)."""
        return {"config": self.config.to_dict(), "next_id": self.next_id, "games": self.games,
                "learner": {"mu": float(self.learner.mu), "sigma": float(self.learner.sigma)},
                "entries": {uid: dict(e) for uid, e in self.entries.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what ``state_dict`` saved: snapshots rebuilt on ``template``, checkpoints re-read from
        their paths, bots by name."""
        self.entries.clear()
        self.opponents.clear()
        self.pending = []
        self.next_id, self.games = int(state["next_id"]), int(state["games"])
        self.learner = self.model.rating(mu=state["learner"]["mu"], sigma=state["learner"]["sigma"])
        for uid, e in state["entries"].items():
            uid = int(uid)
            if e["kind"] == "snapshot":
                policy = self.template
                saved = {k: v.detach().clone() for k, v in policy.state_dict().items()}
                policy.load_state_dict(e["weights"])
                opponent = PolicyOpponent(policy, self.action_space, name=e["name"],
                                          seed=self.config.seed + 7919 * (uid + 1), greedy=self.config.greedy,
                                          fused=self.fused_act)
                policy.load_state_dict(saved)  # the template (the learner, maybe) keeps its own weights
            elif e["kind"] == "checkpoint":  # re-read from its file (weights not copied into the league)
                opponent = self._checkpoint(e["path"])
            else:
                opponent = scripted_bot(self.env_name, e["name"].removeprefix("bot:"), seed=self.config.seed)
            self.entries[uid] = dict(e)
            self.opponents[uid] = opponent
