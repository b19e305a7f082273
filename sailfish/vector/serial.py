"""``Serial``: Python envs stepped one after another in this process (debugging, eval, tests)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from sailfish.emulation import make_adapter
from sailfish.vector.protocol import Buffers, EnvCreator, GroupedVecEnv, buffer_specs, creators_for


class Serial(GroupedVecEnv):
    """``num_envs`` Gymnasium or PettingZoo envs in this process, speaking the ``VecEnv`` and
    ``AsyncVecEnv`` protocols (``send`` steps the batch at once, ``recv`` returns it).

    Observations are flattened (``self.observation_layout``), actions come from one policy head
    (``self.action_layout``), padding rows have ``masks`` False: see ``sailfish.emulation``.
    """

    def __init__(self, env_creator: EnvCreator | Sequence[EnvCreator], num_envs: int = 1, *,
                 batch_size: int | None = None, seed: int | None = 0, log_interval: int = 128) -> None:
        """Args:
            env_creator: a callable returning a Gymnasium env or a PettingZoo ``ParallelEnv``,
                or a list of ``num_envs`` of them.
            num_envs: env instances (each contributes ``agents_per_env`` rows).
            batch_size: env instances per ``recv()`` batch (default: all).
            seed: env ``i`` is reset with ``seed + i`` on the first reset (None: unseeded).
            log_interval: steps between episode statistics in ``step``'s infos; 0 disables.

        Raises:
            ValueError: bad sizes, or envs whose spaces differ from the first env's.
        """
        self.closed = True  # until built: a failed __init__ must not run close()
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs: must be an integer >= 1, got {num_envs!r}")
        self.envs: list[Any] = []
        try:
            for creator in creators_for(env_creator, int(num_envs)):
                self.envs.append(make_adapter(creator))
            first = self.envs[0]
            for i, env in enumerate(self.envs[1:], 1):
                if (env.observation_layout.flat_space != first.observation_layout.flat_space
                        or env.action_layout.flat_space != first.action_layout.flat_space
                        or env.num_agents != first.num_agents or env.mask_width != first.mask_width):
                    raise ValueError(f"env {i} ({env.name}) has other spaces or agents than env 0 ({first.name})")
        except BaseException:
            for env in self.envs:
                env.close()
            raise
        k = first.num_agents
        rows = int(num_envs) * k
        buffers = Buffers(*(np.zeros(shape, dtype) for _, dtype, shape in
                            buffer_specs(rows, first.observation_layout, first.action_layout,
                                         first.mask_width)))
        for i, env in enumerate(self.envs):
            env.bind(buffers.block(i * k, (i + 1) * k))
        self._setup(name=first.name, obs_layout=first.observation_layout, act_layout=first.action_layout,
                    agents_per_env=k, num_instances=int(num_envs), num_units=int(num_envs), batch_size=batch_size,
                    seed=seed, log_interval=log_interval, buffers=buffers)
        self.closed = False

    def _launch(self, units: range, command: str, seeds: list | None = None) -> None:
        envs = self.envs
        if command == "step":
            for i in units:
                envs[i].step()
        else:
            for i in units:
                envs[i].reset(seeds[i])

    def _wait(self, units: range) -> None:
        pass  # the work was done in _launch

    def _unit_totals(self, unit: int) -> np.ndarray:
        return self.envs[unit].stats.totals.copy()

    def _render(self, index: int) -> np.ndarray:
        return self.envs[index].render()

    def _shutdown(self) -> None:
        for env in self.envs:
            env.close()
