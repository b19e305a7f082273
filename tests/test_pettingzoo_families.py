"""PettingZoo's families through the adapters, with the real packages: MPE's parallel wrappers
(agents exist only after reset), parallelizable AEC envs, turn-based AEC games, agents with
different spaces; each checked by PettingZoo's own API test and stepped through both backends."""
import numpy as np
import pytest

import sailfish
from sailfish.emulation import AECAdapter, PettingZooAdapter, emulate

pytest.importorskip("pettingzoo")
mpe2 = pytest.importorskip("mpe2")
classic = pytest.importorskip("pettingzoo.classic")
from mpe2 import simple_adversary_v3, simple_spread_v3  # noqa: E402
from pettingzoo.classic import connect_four_v3, tictactoe_v3  # noqa: E402
from pettingzoo.test import api_test, parallel_api_test  # noqa: E402
from pettingzoo.utils.env_logger import EnvLogger  # noqa: E402


@pytest.fixture(autouse=True)
def quiet_illegal_moves():
    """Random play makes illegal moves; PettingZoo prints a warning for each."""
    EnvLogger.suppress_output()
    yield
    EnvLogger.unsuppress_output()


def test_mpe_parallel_env_whose_agents_appear_only_at_reset_is_accepted():
    env = simple_spread_v3.parallel_env()
    assert not hasattr(env, "agents")  # an aec_to_parallel_wrapper: agents come with reset()
    adapter = emulate(env)
    assert isinstance(adapter, PettingZooAdapter) and adapter.name == "simple_spread_v3"
    assert adapter.num_agents == 3 and adapter.observation_layout.shape == (18,) and not adapter.spaces.padded
    adapter.reset(seed=0)
    for _ in range(25):  # max_cycles: every agent is truncated on step 25 and the env resets
        adapter.step()
    assert adapter.rows.masks.all() and adapter.rows.truncations.all()
    assert adapter.stats.totals[0] == 3 and adapter.stats.totals[2] == 3 * 25


def test_parallelizable_aec_env_is_converted_with_aec_to_parallel():
    adapter = emulate(simple_spread_v3.env())
    assert isinstance(adapter, PettingZooAdapter) and type(adapter.env).__name__ == "aec_to_parallel_wrapper"


def test_simple_adversary_agents_are_padded_to_one_layout_with_their_type_one_hot():
    adapter = emulate(simple_adversary_v3.parallel_env())
    spaces = adapter.spaces
    assert spaces.padded and spaces.type_names == ["adversary", "agent"]
    assert spaces.agent_types.tolist() == [0, 1, 1]
    assert adapter.observation_layout.shape == (10 + 2,)  # good agents see 10 numbers, the adversary 8
    adapter.reset(seed=0)
    rows = adapter.rows.observations
    raw = adapter.env.aec_env  # the adapter's observations are the env's, padded
    assert np.array_equal(rows[0, :8], raw.observe("adversary_0")) and rows[0, 8:].tolist() == [0, 0, 1, 0]
    assert np.array_equal(rows[1, :10], raw.observe("agent_0")) and rows[1, 10:].tolist() == [0, 1]
    assert adapter.action_counts.tolist() == [5, 5, 5]


def play(adapter, moves):
    """Plays ``moves`` (cells), one per step, recording what each step left in the rows."""
    log = []
    for cell in moves:
        adapter.rows.actions[adapter.rows.masks.argmax()] = cell
        adapter.step()
        rows = adapter.rows
        log.append((rows.masks.tolist(), rows.rewards.tolist(), rows.terminals.tolist()))
    return log


def test_turn_based_game_moves_one_agent_per_step_and_the_loser_gets_its_reward_while_waiting():
    adapter = emulate(tictactoe_v3.env())
    assert isinstance(adapter, AECAdapter) and adapter.name == "tictactoe_v3"
    adapter.reset(seed=0)
    assert adapter.rows.masks.tolist() == [True, False]  # player_1 moves first; player_2 waits
    # player_1 takes the left column (cells 0, 1, 2 in PettingZoo's column-major numbering)
    log = play(adapter, [0, 3, 1, 4, 2])
    assert [m for m, _, _ in log] == [[False, True], [True, False], [False, True], [True, False], [True, False]]
    assert [r for _, r, _ in log] == [[0, 0]] * 4 + [[1, -1]]  # the winning move: +1 to the mover, -1 waiting
    assert [t for _, _, t in log] == [[False, False]] * 4 + [[True, True]]
    # the same step reset the board: player_1 to move on an empty board, both observing it
    board = adapter.observation_layout.views(adapter.rows.observations)["observation"]
    assert not board.any()
    assert adapter.stats.totals.tolist() == [2, 0.0, 5, 0.0]  # returns +1 and -1; moves 3 and 2


def test_illegal_move_ends_the_game_with_a_loss_for_the_mover():
    adapter = emulate(tictactoe_v3.env())
    adapter.reset(seed=0)
    log = play(adapter, [4, 4])  # player_2 plays into player_1's cell
    assert log[-1] == ([True, False], [0, -1], [True, True])
    mask = adapter.rows.action_masks  # split off the observation into the legal-action masks
    assert "action_mask" not in adapter.observation_layout.views(adapter.rows.observations)
    assert mask[0].all() and mask[1].all()  # the mover's legal moves; the waiting player's none: all legal


REAL = {
    "simple_spread": simple_spread_v3.parallel_env,
    "simple_adversary": simple_adversary_v3.parallel_env,
    "connect_four": connect_four_v3.env,
    "tictactoe": tictactoe_v3.env,
}


@pytest.mark.parametrize("name", list(REAL))
def test_real_env_passes_pettingzoo_api_test(name):
    env = REAL[name]()
    if isinstance(emulate(REAL[name]()), AECAdapter):
        api_test(env, num_cycles=200)
    else:
        parallel_api_test(env, num_cycles=200)


@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
@pytest.mark.parametrize("name", list(REAL))
def test_real_env_steps_with_random_actions_through_both_backends(name, backend):
    env = sailfish.vector.make(REAL[name], num_envs=4, backend=backend, seed=0, timeout=30, log_interval=0,
                               **({"num_workers": 2} if backend == "multiprocessing" else {}))
    try:
        agents = env.agents_per_env
        assert env.num_rows == 4 * agents and env.observations.shape[0] == 4 * agents
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        live = 0
        for _ in range(100):
            env.step(rng.integers(0, env.single_action_space.n, env.num_rows).astype(np.int32))
            live += int(env.masks.sum())
        stats = env.episode_stats()
    finally:
        env.close()
    assert stats["episodes"] >= 4 * agents  # every env finished episodes: 25 steps for MPE, short games
    if name in ("connect_four", "tictactoe"):
        assert live == 100 * 4  # exactly one mover per game per step
    else:
        assert live == 100 * 4 * agents
