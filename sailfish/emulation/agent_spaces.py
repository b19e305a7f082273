"""One row layout for the agents of a multi-agent env, whatever their spaces.

Agents with equal spaces share the spaces' own layouts (``sailfish.spaces``). Agents whose
observation or action spaces differ (MPE's ``simple_adversary``: adversaries see 8 numbers,
good agents 10) are padded to one layout:

- **Observations**: each agent's observation is flattened by its own layout and cast to float32,
  zero-padded to the longest, and followed by a one-hot of the agent's *type*, so the policy
  knows which layout a row holds. A type is one distinct ``(observation space, action space)``
  pair, numbered in ``possible_agents`` order (``type_names``: the first such agent's name
  without its ``_<n>`` suffix, e.g. ``adversary`` and ``agent``).
- **Actions**: every action space must be ``Discrete``; the head is ``Discrete(largest n)``.
  ``action_counts[i]`` is how many actions row ``i``'s agent has and ``action_masks[i]`` the
  matching legal-action mask (True for ``a < action_counts[i]``), ready for a masked policy
  head. Until a head reads them, a policy may pick an action its agent lacks: it is mapped to
  ``a % action_counts[i]``, which is deterministic and keeps every valid action reachable.
- **Legal-action masks**: when agents share one layout and their Dict observation holds an
  ``"action_mask"``, it is split off the observation into the rows' ``action_masks``
  (``sailfish.emulation.action_masks``); padded agents get their static masks there instead
  (a Dict ``"action_mask"`` of padded agents stays in their observation).
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import gymnasium as gym
import numpy as np

from sailfish.emulation.action_masks import MASK_KEY, split_mask, write_mask
from sailfish.spaces import ActionLayout, ObservationLayout, action_layout, observation_layout


class AgentSpaces:
    """The row layout of ``agents`` (see the module docstring).

    Attributes:
        observation_layout, action_layout: the layouts every row has.
        padded: True when agents' spaces differ and rows are padded (with a type feature).
        agent_types: the type index of each agent (all 0 when not padded).
        type_names: one name per type.
        action_counts: per agent, its number of actions (Discrete heads), else None.
        action_masks: ``bool [agents, n]``, True where the row's agent has the action (Discrete
            heads), else None. Static: it says nothing of actions illegal in a given state.
        mask_width: columns of the rows' ``action_masks`` buffer; 0 = the agents have no masks.
        mask_from_observation: True when each observation's ``"action_mask"`` fills it.
    """

    def __init__(self, name: str, agents: Sequence[str], obs_spaces: Sequence[gym.Space],
                 act_spaces: Sequence[gym.Space]) -> None:
        self.agents = list(agents)
        pairs: list[tuple[gym.Space, gym.Space]] = []
        types = []
        for o, a in zip(obs_spaces, act_spaces):
            match = next((k for k, (po, pa) in enumerate(pairs) if po == o and pa == a), None)
            if match is None:
                pairs.append((o, a))
                match = len(pairs) - 1
            types.append(match)
        self.agent_types = np.asarray(types, np.int64)
        self.type_names = [re.sub(r"_\d+$", "", self.agents[types.index(k)]) for k in range(len(pairs))]
        self.padded = len(pairs) > 1
        self.mask_width, self.mask_from_observation = 0, False
        if not self.padded:
            obs_space, self.mask_width = split_mask(obs_spaces[0], act_spaces[0], name)
            self.mask_from_observation = self.mask_width > 0
            self.observation_layout: ObservationLayout = observation_layout(obs_space)
            self.action_layout: ActionLayout = action_layout(act_spaces[0])
            self._act_layouts = [self.action_layout] * len(self.agents)
        else:
            self._init_padded(name, obs_spaces, act_spaces)
        space = self.action_layout.flat_space
        if isinstance(space, gym.spaces.Discrete):
            counts = [int(s.n) for s in act_spaces] if self.padded else [int(space.n)] * len(self.agents)
            self.action_counts: np.ndarray | None = np.asarray(counts, np.int64)
            self.action_masks: np.ndarray | None = np.arange(int(space.n)) < self.action_counts[:, None]
            if self.padded and not self.action_masks.all():
                self.mask_width = int(space.n)
        else:
            self.action_counts = self.action_masks = None

    def _init_padded(self, name: str, obs_spaces: Sequence[gym.Space], act_spaces: Sequence[gym.Space]) -> None:
        self._obs_layouts = [observation_layout(s) for s in obs_spaces]
        sizes = [sum(leaf.size for leaf in layout.leaves) for layout in self._obs_layouts]
        width, num_types = max(sizes), len(self.type_names)
        low = np.zeros(width + num_types, np.float32)
        high = np.zeros(width + num_types, np.float32)
        high[width:] = 1.0
        for layout in self._obs_layouts:
            flat = layout.flat_space if not layout.is_bytes else None
            if flat is None or not isinstance(flat, gym.spaces.Box):
                agent_low = np.full(sum(lf.size for lf in layout.leaves), -np.inf, np.float32)
                agent_high = -agent_low
            else:
                agent_low = np.asarray(flat.low, np.float32).reshape(-1)
                agent_high = np.asarray(flat.high, np.float32).reshape(-1)
            n = agent_low.size
            low[:n] = np.minimum(low[:n], agent_low)
            high[:n] = np.maximum(high[:n], agent_high)
        self._width = width
        self.observation_layout = observation_layout(gym.spaces.Box(low, high, (width + num_types,), np.float32))
        if not all(isinstance(s, gym.spaces.Discrete) for s in act_spaces):
            listing = "; ".join(f"{a!r} has {s}" for a, s in zip(self.agents, act_spaces))
            raise ValueError(f"{name}: agents with different spaces are padded to one layout, which needs every "
                             f"action space to be Discrete (padded to the largest); {listing}")
        largest = max(int(s.n) for s in act_spaces)
        self.action_layout = action_layout(gym.spaces.Discrete(largest))
        self._starts = [int(s.start) for s in act_spaces]
        self._counts = [int(s.n) for s in act_spaces]

    def views(self, row: np.ndarray) -> list[np.ndarray]:
        """What ``write`` writes through for one row (computed once per row)."""
        return self.observation_layout.leaf_views(row)

    def write(self, i: int, obs: Any, views: list[np.ndarray]) -> None:
        """Writes agent ``i``'s observation ``obs`` into its row (through ``views``)."""
        if not self.padded:
            self.observation_layout.write(obs, views)
            return
        row, offset = views[0], 0
        for leaf in self._obs_layouts[i].leaves:
            value = obs
            for key in leaf.path:
                value = value[key]
            value = np.asarray(value)
            if value.shape != leaf.shape:
                raise ValueError(f"observation of {self.agents[i]!r} at {leaf.name}: expected shape {leaf.shape} "
                                 f"for {leaf.space}, got {value.shape}")
            row[offset:offset + leaf.size] = value.reshape(-1)
            offset += leaf.size
        row[offset:] = 0.0
        row[self._width + self.agent_types[i]] = 1.0

    def write_static_masks(self, action_masks: np.ndarray | None) -> None:
        """Fills every row's ``action_masks`` with its agent's static mask (all legal when unpadded)."""
        if action_masks is not None:
            action_masks[:] = self.action_masks if self.padded else True

    def write_mask(self, obs: Any, row: np.ndarray | None) -> None:
        """Writes the legal-action mask an observation carries into ``row`` (no-op without one)."""
        if self.mask_from_observation and row is not None:
            write_mask(row, obs[MASK_KEY])

    def action(self, i: int, flat: np.ndarray) -> Any:
        """Agent ``i``'s env action for head output ``flat`` (padded actions mapped ``a % n``)."""
        if not self.padded:
            return self.action_layout.unflatten(flat)
        return np.int64(int(flat) % self._counts[i] + self._starts[i])


def set_up_agents(adapter, env) -> None:
    """The multi-agent adapters' common fields from a PettingZoo env: its name, ``possible_agents``,
    their padded spaces and layouts, legal-action bookkeeping and per-agent episode sums."""
    import numpy as np

    from sailfish.emulation.base import EpisodeStats, env_name

    adapter.env = env
    adapter.name = env_name(env)
    adapter.agents = list(env.possible_agents)
    adapter.num_agents = len(adapter.agents)
    adapter.spaces = AgentSpaces(adapter.name, adapter.agents, [env.observation_space(a) for a in adapter.agents],
                                 [env.action_space(a) for a in adapter.agents])
    adapter.observation_layout = adapter.spaces.observation_layout
    adapter.action_layout = adapter.spaces.action_layout
    adapter.action_counts, adapter.action_masks = adapter.spaces.action_counts, adapter.spaces.action_masks
    adapter.stats = EpisodeStats()
    adapter._returns = np.zeros(adapter.num_agents, np.float64)
    adapter._lengths = np.zeros(adapter.num_agents, np.int64)
    adapter.mask_width = adapter.spaces.mask_width


class AgentRows:
    """``bind`` for the multi-agent adapters (set up by ``set_up_agents``): one row per agent."""

    def bind(self, rows) -> None:
        """Points the adapter at its rows of the vector buffers."""
        self.rows = rows
        self._obs_views = [self.spaces.views(rows.observations[i]) for i in range(self.num_agents)]
        self.spaces.write_static_masks(rows.action_masks)
