"""Search spaces: ``[sweep.<key>]`` tables of TOML, one per searched ``Config`` key.

```toml
[sweep.lr]
distribution = "log"      # log | uniform | int | pow2
min = 1e-4
max = 1e-2
```
``log``: log-uniform (an integer key gives log-spaced integers); ``uniform``: uniform (integers for an
integer key); ``int``: uniform integers; ``pow2``: powers of two between ``min`` and ``max`` (both
powers of two), uniform in the exponent.

Where a space is read from: ``--space FILE``, else the ``[sweep]`` table of
``sailfish/configs/<env>.toml``, next to the env's defaults (``Config.load`` leaves it out of the
training config).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DISTRIBUTIONS = ("log", "uniform", "int", "pow2")


@dataclass(frozen=True)
class Dimension:
    """One searched key: its distribution and inclusive bounds."""

    key: str
    distribution: str
    low: float
    high: float
    integer: bool

    @property
    def param_name(self) -> str:
        """The Optuna parameter this key is searched as (a ``pow2`` key: its exponent, ``log2_<key>``)."""
        return f"log2_{self.key}" if self.distribution == "pow2" else self.key

    def suggest(self, trial) -> Any:
        """The value an Optuna trial proposes for this key."""
        if self.distribution == "pow2":
            exp = trial.suggest_int(self.param_name, int(math.log2(self.low)), int(math.log2(self.high)))
            trial.set_user_attr(self.key, 2 ** exp)
            return 2 ** exp
        log = self.distribution == "log"
        if self.integer:
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=log)
        return trial.suggest_float(self.key, self.low, self.high, log=log)


def space_path(env: str) -> Path | None:
    """The file holding ``env``'s search space, or None (see the module doc for the order)."""
    from sailfish.train.config import config_path

    path = config_path(env)
    return path if path.exists() and "sweep" in _read(path) else None


def load_space(env: str, path: str | Path | None = None) -> dict[str, Dimension]:
    """The search space of ``env`` (or of the file ``path``), validated against ``Config``.

    Raises ``ValueError`` naming the file and key for an unknown key, distribution or bad bounds.
    """
    from sailfish.train.config import Config

    source = Path(path) if path is not None else space_path(env)
    if source is None:
        raise ValueError(f"no search space for {env!r}: add [sweep.<key>] tables (distribution, min, max) "
                         f"to sailfish/configs/{env}.toml or pass --space FILE")
    tables = _read(source).get("sweep")
    if not isinstance(tables, dict) or not tables:
        raise ValueError(f"{source}: no [sweep.<key>] tables (distribution, min, max)")
    types = {name: str(t if isinstance(t, str) else t.__name__) for name, t in Config.__annotations__.items()}
    space = {}
    for key, spec in tables.items():
        where = f"{source} [sweep.{key}]"
        if key not in types or key == "env":
            raise ValueError(f"{where}: unknown config key (keys: sailfish/train/config.py)")
        if types[key] not in ("int", "float"):
            raise ValueError(f"{where}: only numeric keys can be searched, {key} is {types[key]}")
        if not isinstance(spec, dict) or set(spec) - {"distribution", "min", "max"} or \
                {"distribution", "min", "max"} - set(spec):
            raise ValueError(f"{where}: expected exactly distribution, min and max")
        dist, low, high = spec["distribution"], spec["min"], spec["max"]
        if dist not in DISTRIBUTIONS:
            raise ValueError(f"{where}: distribution must be one of {', '.join(DISTRIBUTIONS)}, got {dist!r}")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or not low < high:
            raise ValueError(f"{where}: min and max must be numbers with min < max, got {low!r}, {high!r}")
        integer = types[key] == "int"
        if dist in ("int", "pow2") and not integer:
            raise ValueError(f"{where}: {dist} needs an integer key, {key} is a float")
        if dist == "log" and low <= 0:
            raise ValueError(f"{where}: log needs min > 0, got {low!r}")
        if dist == "pow2" and not all(v >= 1 and math.log2(v).is_integer() for v in (low, high)):
            raise ValueError(f"{where}: pow2 needs min and max that are powers of two, got {low!r}, {high!r}")
        if integer and not all(float(v).is_integer() for v in (low, high)):
            raise ValueError(f"{where}: {key} is an integer key: min and max must be integers")
        space[key] = Dimension(key, dist, low, high, integer)
    return space


def suggest(trial, space: dict[str, Dimension]) -> dict[str, Any]:
    """Config overrides proposed by ``trial`` for every key of ``space``."""
    return {key: dim.suggest(trial) for key, dim in space.items()}


def _read(path: Path) -> dict[str, Any]:
    from sailfish.train.config import read_toml

    return read_toml(path)
