"""Training configuration: one dataclass, per-env defaults from TOML, overrides from a dict or the CLI.

Precedence, lowest first: the dataclass defaults, ``sailfish/configs/default.toml``,
``sailfish/configs/<env>.toml`` (or, for an env with no file of its own, ``defaults_for_spaces`` of its
spaces), then explicit overrides. Every key is validated once, at the boundary;
an unknown key or bad value raises ``ValueError`` with a one-line message naming the key.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import sys
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


@dataclass
class Config:
    """Every hyperparameter of a training run. Units are given per field; "steps" are agent steps
    (one observation-action pair of one agent), so ``total_steps`` counts samples, not vector steps."""

    # --- run ---
    env: str = ""
    """Environment name (``sailfish envs``, ``gym:<id>`` or a Gymnasium id, ``module:factory``) that
    ``make_env`` builds; empty when the caller hands the ``Trainer`` an env it built itself."""
    env_config: dict = field(default_factory=dict)
    """Parameters of the env itself (``sailfish envs`` lists them), e.g. ``{size = 7}``; CLI: ``--env-config size=7``."""
    seed: int = 0
    """Seeds the policy initialisation, action sampling, minibatch order and the env (each env instance
    derives its own stream from it); the trainer uses its own generators, never the global ones."""
    total_steps: int = 1_000_000
    """Training length in agent steps; the run stops after the update that crosses it."""
    max_seconds: float = 0.0
    """Wallclock budget in seconds (0 = none; a resumed run's earlier sessions count): the run stops
    after the update that crosses it or ``total_steps``, whichever comes first, and ``anneal_lr``
    decays over whichever is nearer its end. A timed run's schedule follows the machine's speed, so
    it is not reproducible step for step. CLI: ``--max-seconds 600``."""
    target_return: float = math.inf
    """Stop early once the mean episode return over the latest >= ``num_envs`` episodes reaches this."""

    # --- environment / collection ---
    num_envs: int = 64
    """Env instances stepped together; a many-agent env gives ``agents_per_env`` rows each, and the
    batch of an update is rows x ``rollout_steps`` (the trainer checks ``minibatch_size`` against it)."""
    num_threads: int = 1
    """Threads of the native vector env's pool (1 = step in the calling thread)."""
    backend: str = "serial"
    """Vector backend for Python envs (``gym:<id>`` or ``module:factory``): "serial" or "multiprocessing"."""
    num_workers: int = 0
    """Worker processes of the "multiprocessing" backend; 0 = as many as divide num_envs up to the cores."""
    env_batch_size: int = 0
    """Env instances per async batch of the "serial"/"multiprocessing" backend (``sailfish.vector.make(
    batch_size=...)``): the collector acts on one batch of rows while the workers step the others;
    0 = synchronous (every env stepped together). Divides num_envs, a multiple of the envs per worker."""
    overlap_update: bool = False
    """Collect the next batch while the update runs (a background thread acting with a copy of the
    policy from before the update; ``sailfish.train.overlap``): the envs never wait for the learner, and
    every sample is one update stale, which PPO's ratio and V-trace account for. Pays where the envs and
    the update can run at once (worker processes, a native env's C step); one run, not populations,
    torchrun ranks or self-play."""
    worker_timeout: float = 60.0
    """Seconds a "multiprocessing" worker may take for one env step or reset before it is killed and the
    run stops with an error naming the env and the step; 0 = wait forever."""
    torch_threads: int = 0
    """Intra-op threads for torch on CPU; 0 = auto: every core when minibatch_size x hidden_size^2 is
    large enough to split, else 1 (tiny policies run fastest on 1: per-op overhead dominates);
    -n = the same rule over n cores (ablation and sweep workers get -(cores / workers))."""
    rollout_steps: int = 64
    """Horizon per agent per collection, in steps: one update uses ``num_envs * rollout_steps`` samples."""
    bptt_horizon: int = 16
    """Length of a segment in steps (truncated BPTT length for recurrent policies); divides rollout_steps."""

    # --- PPO update ---
    minibatch_size: int = 512
    """Samples per minibatch; a multiple of bptt_horizon (minibatches are whole segments)."""
    update_epochs: int = 4
    """Passes over the collected batch per update."""
    lr: float = 2.5e-3
    """Adam learning rate at the start of the run."""
    anneal_lr: bool = True
    """Decay the learning rate linearly to 0 over the run (``total_steps``, or ``max_seconds`` where it
    ends first)."""
    reward_scale: float = 1.0
    """Factor applied to rewards before advantages (not to the reported returns): keeps value targets
    near unit scale when rewards are large or many, so the value loss does not swamp a shared encoder."""
    reward_norm: bool = False
    """Divide rewards by a running std of the discounted return (``sailfish.vector.NormalizeReward``,
    applied by ``make_env``; the reported returns stay the env's); on by default for continuous actions."""
    gamma: float = 0.99
    """Discount factor per step."""
    gae_lambda: float = 0.95
    """GAE lambda (bias/variance trade-off of the advantage estimate)."""
    clip_coef: float = 0.2
    """PPO ratio clip: the policy loss ignores ratios outside [1 - clip_coef, 1 + clip_coef]."""
    vf_coef: float = 0.5
    """Weight of the value loss in the total loss."""
    vf_clip_coef: float = 0.2
    """Clip of the value change per update, in return units (0 or less = no value clipping)."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    max_grad_norm: float = 0.5
    """Global L2 norm the gradient is clipped to."""
    norm_adv: bool = True
    """Normalise advantages to zero mean, unit std within each minibatch."""
    adam_beta1: float = 0.9
    """Adam beta1."""
    adam_beta2: float = 0.999
    """Adam beta2."""
    adam_eps: float = 1e-5
    """Adam epsilon."""
    rho_clip: float = 1.0
    """V-trace clip of the importance ratio scaling each TD error (ratio 1 = plain GAE)."""
    c_clip: float = 1.0
    """V-trace clip of the importance ratio scaling each trace."""
    vtrace: bool = True
    """Recompute advantages before every epoch after the first with the ratios of the previous epoch."""
    prio_alpha: float = 0.0
    """Prioritized segment sampling exponent: p ∝ (sum |advantage|)^alpha; 0 = uniform, no replacement."""
    prio_beta0: float = 0.2
    """Initial importance-weight exponent for prioritized sampling, annealed linearly to 1."""

    # --- policy ---
    encoder: str = "auto"
    """Observation encoder: "auto" (CNN for [H, W, C] observations, "combined" for a Dict / Tuple
    observation holding an image, i.e. a rank-3 uint8 Box, MLP otherwise), "mlp", "cnn", "combined"
    (a CNN per image leaf + an MLP on the other leaves, ``sailfish.policies.combined``), "mmo" (the
    ``mmo`` world's categorical-channel encoder, ``sailfish.policies.mmo``) or "connect4" (a shared
    layer over every 4x4 window of the board, ``sailfish.policies.board``)."""
    hidden_size: int = 64
    """Width of the encoder's hidden layers (and of the LSTM)."""
    window_filters: int = 64
    """Filters of the "connect4" encoder's 4x4 window convolution (read by that encoder only)."""
    mirror_symmetric: bool = False
    """Tie the "connect4" policy's weights so that it plays a mirrored board as the mirror image of its
    play (``sailfish.policies.board.mirror_symmetric``; needs even window_filters and hidden_size)."""
    obs_norm: bool = False
    """Normalise observations by a running mean and std per element (MLP policies), updated after each update."""
    recurrent: bool = False
    """Wrap the encoder in an LSTM."""

    # --- system ---
    device: str = "cpu"
    """torch device: "cpu", "cuda", "cuda:1", ... ("auto" = cuda if available)."""
    precision: str = "auto"
    """Matmul precision of the policy's forward passes: "auto" (bf16 where the hardware has native
    bf16: AVX512_BF16/AMX on CPU, bf16 support on the GPU; fp32 elsewhere, and for the small MLPs
    whose update the C minibatch kernel computes, ``sailfish.train.fused_update``), "bf16" or "fp32".
    Parameters, optimizer state, advantages, returns and losses stay fp32."""
    compile: bool = False
    """Wrap the policy in torch.compile (needs a C++ compiler on CPU)."""
    fused_update: bool = True
    """Compute each minibatch's PPO gradient in one C call where the policy allows (an MLP with a
    categorical head on one CPU thread, no prioritized sampling: ``sailfish.train.fused_update``); false
    always takes the autograd path, which gives the same gradients to float rounding, more slowly."""
    fused_act: bool = True
    """Act in rollouts with one C call per step where the policy allows (the same policies, one CPU
    thread, fp32: ``sailfish.train.fused_act``); false acts through the policy's forward and its
    distribution, which give the same actions to float rounding, more slowly."""

    # --- logging / checkpoints ---
    checkpoint_interval: int = 50
    """Checkpoint every this many updates (updates, not seconds, so runs are reproducible); 0 = only at the end."""
    keep_checkpoints: int = 3
    """Number of most recent checkpoints kept on disk."""
    log_seconds: float = 1.0
    """Seconds between metric logs (CSV, TensorBoard, dashboard); 0 = every update."""
    runs_dir: str = "runs"
    """Directory holding run directories; empty string = write nothing to disk."""
    wandb: bool = False
    """Also log to Weights & Biases; needs the ``[wandb]`` extra (set WANDB_MODE=offline to stay local)."""

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------
    def validate(self) -> None:
        """Coerce types and check ranges; raises ``ValueError("key: ...")`` on the first problem."""
        for f in fields(self):
            setattr(self, f.name, _coerce(f.name, f.type, getattr(self, f.name)))

        def check(key: str, ok: bool, rule: str) -> None:
            if not ok:
                raise ValueError(f"{key}: must be {rule}, got {getattr(self, key)!r}")

        check("torch_threads", isinstance(self.torch_threads, int), "an integer (0 = auto, -n = auto over n cores)")
        check("precision", self.precision in ("auto", "bf16", "fp32"), '"auto", "bf16" or "fp32"')
        for key in ("total_steps", "num_envs", "num_threads", "rollout_steps",
                    "bptt_horizon", "minibatch_size", "update_epochs", "hidden_size", "window_filters",
                    "keep_checkpoints"):
            check(key, getattr(self, key) > 0, "> 0")
        for key in ("lr", "adam_eps", "max_grad_norm", "rho_clip", "c_clip", "clip_coef", "reward_scale"):
            check(key, getattr(self, key) > 0, "> 0")
        for key in ("gamma", "gae_lambda", "adam_beta1", "adam_beta2", "prio_beta0"):
            check(key, 0.0 <= getattr(self, key) <= 1.0, "in [0, 1]")
        check("backend", self.backend in ("serial", "multiprocessing"), '"serial" or "multiprocessing"')
        check("encoder", self.encoder in ("auto", "mlp", "cnn", "combined", "mmo", "connect4"),
              '"auto", "mlp", "cnn", "combined", "mmo" or "connect4"')
        check("obs_norm", not self.obs_norm or self.encoder in ("auto", "mlp"),
              'False with encoder "cnn", "combined", "mmo" or "connect4" (only the MLP normalises observations)')
        check("num_workers", self.num_workers >= 0, ">= 0")
        check("env_batch_size", self.env_batch_size >= 0 and (not self.env_batch_size
              or self.num_envs % self.env_batch_size == 0), f">= 0 and divide num_envs ({self.num_envs}) (0 = synchronous)")
        check("worker_timeout", self.worker_timeout >= 0, ">= 0 (0 = wait forever)")
        for key in ("vf_coef", "ent_coef", "prio_alpha", "checkpoint_interval", "log_seconds", "max_seconds"):
            check(key, getattr(self, key) >= 0, ">= 0")
        check("rollout_steps", self.rollout_steps % self.bptt_horizon == 0,
              f"a multiple of bptt_horizon ({self.bptt_horizon})")
        check("minibatch_size", self.minibatch_size % self.bptt_horizon == 0,
              f"a multiple of bptt_horizon ({self.bptt_horizon})")
        dev = self.device
        check("device", dev in ("cpu", "auto", "cuda", "mps") or dev.startswith("cuda:"),
              '"cpu", "cuda", "cuda:N", "mps" or "auto"')

    # ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """All keys and values, in declaration order."""
        return dataclasses.asdict(self)

    def replace(self, **overrides: Any) -> "Config":
        """A validated copy with ``overrides`` applied (unknown keys raise ``ValueError``)."""
        overrides = _renamed(overrides)
        _check_keys(overrides)
        return dataclasses.replace(self, **overrides)

    @classmethod
    def load(cls, env: str | None = None, overrides: Mapping[str, Any] | None = None,
             path: str | os.PathLike | None = None) -> "Config":
        """Defaults ← ``default.toml`` ← ``<env>.toml`` ← ``path`` (a TOML file) ← ``overrides``.

        ``env`` may also be given inside ``overrides``; a name with no TOML file uses the defaults.
        """
        overrides = dict(overrides or {})
        values: dict[str, Any] = {}
        values.update(read_toml(CONFIG_DIR / "default.toml", missing_ok=True))
        overrides = _renamed(overrides)
        name = env or overrides.get("env") or (read_toml(path).get("env") if path else None)
        if name:
            env_file = config_path(name)
            if env_file.exists():
                env_defaults = read_toml(env_file)
                env_defaults.pop("sweep", None)  # the env's search space (sailfish.sweep), not a setting
            else:  # no file of its own: defaults chosen from its spaces (continuous control, ...)
                from sailfish.train.env import env_spaces

                env_config = overrides.get("env_config") or {}
                spaces = env_spaces(name, env_config if isinstance(env_config, Mapping) else None)
                env_defaults = defaults_for_spaces(*spaces) if spaces else {}
            values.update(env_defaults)
            values["env"] = name
        layers = [read_toml(path)] if path is not None else []
        for layer in layers + [overrides]:
            layer = _renamed(layer)
            # env_config merges key by key, so an override of one env parameter keeps the others
            if isinstance(layer.get("env_config"), Mapping) and isinstance(values.get("env_config"), Mapping):
                layer = {**layer, "env_config": {**values["env_config"], **layer["env_config"]}}
            values.update(layer)
        _check_keys(values)
        return cls(**values)

    def save(self, path: str | os.PathLike) -> None:
        """Write every key as TOML (readable back with ``Config.load(path=...)``)."""
        Path(path).write_text(to_toml(self.to_dict()))


# For an env without a TOML of its own and continuous actions: PPO's continuous-control recipe
# (CleanRL's ppo_continuous_action, after Engstrom et al. 2020 and Andrychowicz et al. 2021):
# observation and reward normalisation, 2048-sample batches, 10 epochs, no entropy bonus, plain GAE,
# a state-independent log-std (Policy.log_std). Two measured departures, for score per second:
# the 2048 samples are 8 envs x 256 steps (not 1 x 2048), so each policy forward serves 8 env steps;
# and lr 1e-3 with 256-sample minibatches instead of 3e-4 with 64: on Pendulum-v1 after 100k steps
# (one core) 3e-4/64 reached -920 in 28 s, 3e-4/256 -1080 in 16 s, 1e-3/256 -180 in 14 s (random: -1256).
CONTINUOUS_DEFAULTS: dict[str, Any] = {
    "obs_norm": True, "reward_norm": True, "lr": 1e-3, "anneal_lr": True, "num_envs": 8, "rollout_steps": 256,
    "bptt_horizon": 16, "minibatch_size": 256, "update_epochs": 10, "gamma": 0.99, "gae_lambda": 0.95,
    "clip_coef": 0.2, "vf_clip_coef": 0.2, "ent_coef": 0.0, "vf_coef": 0.5, "max_grad_norm": 0.5,
    "vtrace": False, "hidden_size": 64,
}


def defaults_for_spaces(observation_space, action_space) -> dict[str, Any]:
    """Config values for an env that has no ``configs/<env>.toml``, chosen from one agent's spaces:
    ``CONTINUOUS_DEFAULTS`` for a ``Box`` action space, nothing (``default.toml``'s values) for
    discrete actions. ``Config.load`` applies them below the user's own settings."""
    import gymnasium

    if isinstance(action_space, gymnasium.spaces.Box):
        return dict(CONTINUOUS_DEFAULTS)
    return {}


def config_path(env: str) -> Path:
    """The defaults file of an env: ``configs/<env>.toml``, with ``:`` spelled ``_``
    (``gym:CartPole-v1`` -> ``configs/gym_CartPole-v1.toml``); an Atari game without a file of its
    own (``configs/atari_<game>.toml``) uses ``configs/atari.toml``."""
    path = CONFIG_DIR / f"{env.replace(':', '_')}.toml"
    if env.startswith("atari:") and not path.exists():
        return CONFIG_DIR / "atari.toml"
    if not path.exists() and ":" not in env and (CONFIG_DIR / f"gym_{env}.toml").exists():
        return CONFIG_DIR / f"gym_{env}.toml"  # a bare Gymnasium id (CartPole-v1) has gym:'s defaults
    return path


def field_docs() -> dict[str, str]:
    """Key → its one-line documentation (used by the CLI's --help)."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(Config)))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = str(nxt.value.value)
    return docs


def to_toml(values: Mapping[str, Any]) -> str:
    """TOML text for a dict of scalars (str, bool, int, float incl. inf and nan), nested dicts as tables
    after the scalars; keys that are not bare TOML keys (``"a.b"``, ``"with space"``) are quoted.
    Written by ``tomli_w``, so whatever it writes ``tomllib`` reads back to the same dict."""
    return tomli_w.dumps(dict(values))


# ----------------------------------------------------------------------
_TYPES = {f.name: f.type for f in fields(Config)}
# Scalars a population member may set for itself (sailfish.train.members); every other key (the
# policy's shape, the batch layout, the length of the run) is shared, because the members' tensors
# are stacked and stepped together.
PER_MEMBER = ("seed", "lr", "clip_coef", "vf_coef", "vf_clip_coef", "ent_coef", "gamma", "gae_lambda",
              "max_grad_norm", "reward_scale", "rho_clip", "c_clip", "runs_dir")


def structure_key(config: Config) -> tuple:
    """What population members must share: every key but ``PER_MEMBER``'s (equal keys: one population)."""
    return tuple((k, repr(v)) for k, v in config.to_dict().items() if k not in PER_MEMBER)
# Old key -> new key: still read (run directories and scripts from before the rename) with a warning.
RENAMED = {"log_interval": "log_seconds"}


def _renamed(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with renamed keys under their new names (a ``FutureWarning`` for each old one)."""
    out = dict(values)
    for old, new in RENAMED.items():
        if old in out:
            warnings.warn(f"config key {old!r} is now {new!r}; the old name stops working in the next release",
                          FutureWarning, stacklevel=3)
            value = out.pop(old)
            out.setdefault(new, value)
    return out


def _check_keys(values: Mapping[str, Any]) -> None:
    for key in values:
        if key not in _TYPES:
            close = difflib.get_close_matches(key, list(_TYPES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{key}: unknown config key{hint}")


def read_toml(path: str | os.PathLike, missing_ok: bool = False) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; ``ValueError`` naming the file if it is missing or malformed."""
    path = Path(path)
    if missing_ok and not path.exists():
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ValueError(f"config file {path}: not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"config file {path}: {e}") from None


def _coerce(key: str, type_name: Any, value: Any) -> Any:
    """Accept the natural spellings: "2e7" or 2e7 for an int when integral, "true"/"false" for a bool."""
    type_name = type_name if isinstance(type_name, str) else type_name.__name__
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ValueError(f"{key}: must be true or false, got {value!r}")
    if type_name == "int":
        if isinstance(value, bool):
            raise ValueError(f"{key}: must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}: must be an integer, got {value!r}") from None
        if not math.isfinite(number) or number != int(number):
            raise ValueError(f"{key}: must be an integer, got {value!r}")
        return int(number)
    if type_name == "float":
        if isinstance(value, bool):
            raise ValueError(f"{key}: must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}: must be a number, got {value!r}") from None
        if number != number:
            raise ValueError(f"{key}: must be a number, got {value!r}")
        return number
    if type_name == "dict":
        if isinstance(value, str):  # "k=v,k2=v2" from the command line
            value = parse_assignments(key, [p for p in value.split(",") if p])
        if not isinstance(value, Mapping):
            raise ValueError(f"{key}: must be a table of key = value, got {value!r}")
        for k, v in value.items():
            if not isinstance(v, (bool, int, float, str)):
                raise ValueError(f"{key}.{k}: must be a number, bool or string, got {v!r}")
        return dict(value)
    if type_name == "str":
        if not isinstance(value, str):
            raise ValueError(f"{key}: must be a string, got {value!r}")
        return value
    return value


def parse_assignments(key: str, items: list[str]) -> dict[str, Any]:
    """``["size=7", "max_steps=2e2"]`` -> ``{"size": 7, "max_steps": 200.0}`` (ints, floats, bools, strings)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{key}: expected name=value, got {item!r}")
        text = text.strip()
        value: Any = text
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        else:
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    pass
        out[name.strip()] = value
    return out
