"""Self-play: opponent rows played inside a vector-env wrapper, and a league of past learners.

``OpponentEnv`` shows the trainer only the learner's rows of a multi-row env and plays the others with
opponents (``PolicyOpponent``: a snapshot or a checkpoint; ``RandomLegalOpponent``, ``Connect4Bot``
and ``FollowBallOpponent``: scripted bots, by name through ``scripted_bot``).
``League`` holds the pool, matchmaking (prioritized fictitious self-play) and openskill ratings;
``train_self_play`` trains against it.
"""
from sailfish.league.league import League, LeagueConfig
from sailfish.league.opponents import Connect4Bot, Opponent, PolicyOpponent, RandomLegalOpponent, scripted_bot
from sailfish.league.self_play import train_self_play
from sailfish.league.wrapper import FixedOpponent, Matchmaker, OpponentEnv

__all__ = ["FixedOpponent", "League", "LeagueConfig", "Matchmaker", "Opponent", "OpponentEnv", "PolicyOpponent",
           "RandomLegalOpponent", "Connect4Bot", "scripted_bot", "train_self_play"]
