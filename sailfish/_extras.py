"""Optional packages: which extra of ``pip install 'sailfish-rl[...]'`` brings each, and one import
path for them all.

The core install (numpy, gymnasium, torch, rich, tomli-w) trains, evaluates, ablates and benchmarks.
Code that needs more imports it inside the function that uses it, through ``require``, so a missing
package costs nothing until that feature is used and then fails with one line naming the fix. The
``sailfish`` command turns that error into ``sailfish <command>: error: <line>`` with exit status 2.
"""
from __future__ import annotations

import importlib
from types import ModuleType

EXTRAS: dict[str, tuple[str, str]] = {
    # import name: (extra, distribution to install); pyproject.toml's [project.optional-dependencies]
    # must list the distribution under that extra (tests/test_extras.py checks it)
    "optuna": ("sweep", "optuna"),
    "sqlalchemy": ("sweep", "sqlalchemy"),
    "tensorboard": ("tensorboard", "tensorboard"),
    "matplotlib": ("plot", "matplotlib"),
    "PIL": ("plot", "pillow"),
    "wandb": ("wandb", "wandb"),
    "pettingzoo": ("pettingzoo", "pettingzoo"),  # NativeParallelEnv (sailfish.emulation.native_parallel)
    "ale_py": ("atari", "ale-py"),  # atari:<game> (sailfish.vector.atari)
    "mujoco": ("mujoco", "mujoco"),  # gym:Hopper-v5 and Gymnasium's other MuJoCo tasks (sailfish.train.env)
    "scipy": ("stats", "scipy"),  # eval --vs: Wilson intervals of win/draw/loss rates (sailfish.commands.eval)
    "openskill": ("league", "openskill"),  # train --self-play: the league's ratings (sailfish.league.league)
}


class MissingExtra(ImportError):
    """An optional package a feature needs is not installed. The message is one line:
    ``<feature> needs <package>: pip install 'sailfish-rl[<extra>]'``."""


def require(module: str, feature: str) -> ModuleType:
    """Import and return ``module`` (a key of ``EXTRAS``), or raise ``MissingExtra`` naming the extra.

    Args:
        module: the import name, e.g. ``"optuna"`` or ``"PIL"``; submodules (``"matplotlib.pyplot"``)
            are looked up by their top-level package.
        feature: what the caller is doing, as the message's subject, e.g. ``"the sweep"``.
    """
    top = module.split(".")[0]
    if top not in EXTRAS:
        raise KeyError(f"{module}: not an optional package of sailfish; add it to EXTRAS in sailfish/_extras.py "
                       "and to pyproject.toml's optional-dependencies")
    extra, dist = EXTRAS[top]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        # installed but broken (one of its own imports failed): say what failed, the fix is the same
        why = "" if e.name in (None, top, module) else f" (importing it failed: {e})"
        raise MissingExtra(f"{feature} needs {dist}: pip install 'sailfish-rl[{extra}]'{why}") from e


def available(module: str) -> bool:
    """True when ``require(module, ...)`` would succeed (it imports the module to find out)."""
    try:
        require(module, "")
    except MissingExtra:
        return False
    return True
