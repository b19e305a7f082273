"""Rule tests for connect4: masking, wins in every direction, the opponent's lookahead, draws."""
import numpy as np
import pytest

import sailfish

EMPTY_BOARD = ["......."] * 6


def columns(rows):
    """State fields from six strings, top row first: 'X' the agent's disc, 'O' the opponent's."""
    assert len(rows) == 6 and all(len(r) == 7 for r in rows)
    fields = {}
    for c in range(7):
        value, place, ended = 0, 1, False
        for h in range(6):
            cell = rows[5 - h][c]
            if cell == ".":
                ended = True
                continue
            assert not ended, f"floating disc in column {c}"
            value += place * (1 if cell == "X" else 2)
            place *= 3
        fields[f"col{c}"] = value
    return fields


def game(rows=EMPTY_BOARD, seed=0, **config):
    env = sailfish.make("connect4", num_envs=1, seed=seed, log_interval=0, **config)
    env.reset()
    env.set_state(0, agent_moves=0, last_opponent_move=-1, **columns(rows))
    return env


def play(env, column):
    obs, rewards, terminals, truncations, _ = env.step(np.array([column], np.int32))
    return obs[0], float(rewards[0]), bool(terminals[0]), bool(truncations[0])


def board(obs):
    return obs[:42].reshape(6, 7)


def test_connect4_starts_empty_with_every_column_playable():
    env = sailfish.make("connect4", num_envs=4, seed=0)
    obs, _ = env.reset()
    assert obs.shape == (4, 49) and obs.dtype == np.float32
    assert np.all(obs[:, :42] == 0) and np.all(obs[:, 42:] == 1)


def test_connect4_opponent_moves_first_when_configured():
    env = sailfish.make("connect4", num_envs=8, seed=0, agent_first=0.0)
    obs, _ = env.reset()
    assert np.all((obs[:, :42] == -1).sum(axis=1) == 1) and np.all(obs[:, 35:42].min(axis=1) == -1)


def test_connect4_disc_falls_to_the_bottom_and_the_opponent_replies():
    env = game()
    obs, reward, terminal, truncated = play(env, 2)
    assert (reward, terminal, truncated) == (0.0, False, False)
    grid = board(obs)
    assert grid[5, 2] == 1 and (grid == 1).sum() == 1 and (grid == -1).sum() == 1
    reply = int(env.get_state(0)["last_opponent_move"])
    assert grid[5 - (reply == 2), reply] == -1
    assert env.get_state(0)["agent_moves"] == 1


def test_connect4_full_column_is_masked_and_playing_it_loses():
    rows = ["X......", "O......", "X......", "O......", "X......", "O......"]
    env = game(rows)
    assert env.observations[0, 42:].tolist() == [0, 1, 1, 1, 1, 1, 1]
    assert board(env.observations[0])[:, 0].tolist() == [1, -1, 1, -1, 1, -1]
    obs, reward, terminal, _ = play(env, 0)
    assert (reward, terminal) == (-1.0, True)
    assert np.all(obs[:42] == 0) and np.all(obs[42:] == 1)  # the next game
    stats = env.episode_stats()
    assert stats["illegal_moves"] == 1.0 and stats["score"] == 0.0 and stats["episode_return"] == -1.0


def test_connect4_action_masks_are_its_legal_move_flags_after_reset_step_and_set_state():
    env = sailfish.make("connect4", num_envs=2, seed=0, log_interval=0)
    env.reset()
    assert env.action_masks.shape == (2, 7) and env.action_masks.all()
    env.set_state(0, agent_moves=0, last_opponent_move=-1,
                  **columns(["X......", "O......", "X......", "O......", "X......", "O......"]))
    assert env.action_masks[0].tolist() == [False] + [True] * 6 and env.action_masks[1].all()
    env.set_state(1, agent_moves=0, last_opponent_move=-1,
                  **columns([".X.....", ".O.....", ".X.....", ".O.....", ".X.....", "OO....."]))
    assert env.action_masks[1].tolist() == [True, False] + [True] * 5
    env.step(np.array([0, 2], np.int32))  # row 0 plays its full column: it loses, a new game starts
    assert env.action_masks[0].all() and not env.action_masks[1, 1]
    np.testing.assert_array_equal(env.action_masks, env.observations[:, 42:] > 0)


@pytest.mark.parametrize("rows,column", [
    ([".......", ".......", ".......", ".......", "OOO....", "XXX...."], 3),   # horizontal
    ([".......", ".......", ".......", "X......", "XO.....", "XO....O"], 0),    # vertical
    ([".......", ".......", ".......", "..XO...", ".XOO...", "XOXO..."], 3),    # diagonal /
    ([".......", ".......", ".......", "...OX..", "...OOX.", "...OXOX"], 3),    # diagonal \
])
def test_connect4_four_in_a_row_wins_in_every_direction(rows, column):
    env = game(rows)
    _, reward, terminal, _ = play(env, column)
    assert (reward, terminal) == (1.0, True)
    stats = env.episode_stats()
    assert stats["score"] == 1.0 and stats["episode_length"] == 1.0


def test_connect4_discs_at_the_top_of_one_column_and_the_bottom_of_the_next_do_not_win():
    # Agent discs on rows 3-5 of column 0 and row 0 of column 1: consecutive bits but for the
    # empty guard bit between columns, and no line on the board.
    env = game(["X......", "X......", "X......", "O......", "O......", "O......"])
    _, reward, terminal, _ = play(env, 1)
    assert (reward, terminal) == (0.0, False)


@pytest.mark.parametrize("seed", range(5))
def test_connect4_opponent_blocks_an_open_three(seed):
    env = game([".......", ".......", ".......", ".......", ".......", "XXX...."], seed=seed)
    obs, reward, terminal, _ = play(env, 6)
    assert (reward, terminal) == (0.0, False)
    assert env.get_state(0)["last_opponent_move"] == 3 and board(obs)[5, 3] == -1


@pytest.mark.parametrize("seed", range(5))
def test_connect4_opponent_takes_a_win_before_blocking(seed):
    rows = [".......", ".......", ".......", "......O", "......O", "XXX...O"]
    env = game(rows, seed=seed)
    _, reward, terminal, _ = play(env, 5)  # neither wins nor blocks
    assert (reward, terminal) == (-1.0, True)
    assert env.episode_stats()["score"] == 0.0


def test_connect4_full_board_without_a_line_is_a_draw():
    cols = ["XXOOXX", "XXOOXX", "XXOOXX", "OOXXOO", "XXOOXX", "XXOOXX", "XXOOX."]  # bottom up
    rows = ["".join(cols[c][h] for c in range(7)) for h in reversed(range(6))]
    env = game(rows)
    assert env.observations[0, 42:].tolist() == [0, 0, 0, 0, 0, 0, 1]
    _, reward, terminal, _ = play(env, 6)
    assert (reward, terminal) == (0.0, True)
    assert env.episode_stats()["draws"] == 1.0


def test_connect4_state_round_trips():
    rows = [".......", ".......", ".......", "..O....", "..XO...", "XOXXO.."]
    env = game(rows)
    state = env.get_state(0)
    assert state == {**columns(rows), "agent_moves": 0.0, "last_opponent_move": -1.0, "to_move": 0.0, "first": 0.0}
    frame = env.render(0)
    assert frame.shape == (240, 280, 3) and frame.std() > 0


def test_connect4_random_play_scores_low():
    env = sailfish.make("connect4", num_envs=256, seed=0, log_interval=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(300):
        env.step(rng.integers(0, 7, 256).astype(np.int32))
    stats = env.episode_stats()
    assert stats["episodes"] > 1000 and stats["score"] < 0.2 and stats["episode_return"] < -0.5


def test_connect4_random_legal_play_scores_low_too():
    env = sailfish.make("connect4", num_envs=256, seed=0, log_interval=0)
    obs, _ = env.reset()
    rng = np.random.default_rng(0)
    for _ in range(300):
        legal = obs[:, 42:] > 0
        scores = rng.random((256, 7)) * legal
        obs, *_ = env.step(scores.argmax(axis=1).astype(np.int32))
    stats = env.episode_stats()
    assert stats["illegal_moves"] == 0.0 and stats["score"] < 0.2


# ---------------------------------------------------------------- scripted opponents: minimax, random

MINIMAX_DEPTHS = [1, 2, 4, 6]


def grid_of(state):
    """The board as a 6x7 array, row 0 at the bottom: 1 row 0's (the agent's) discs, 2 row 1's."""
    grid = np.zeros((6, 7), np.int8)
    for c in range(7):
        v, h = int(state[f"col{c}"]), 0
        while v % 3:
            grid[h, c], v, h = v % 3, v // 3, h + 1
    return grid


def fours(grid, who):
    """True when ``who`` has four in a line on ``grid``."""
    o = grid == who
    return bool((o[:, :-3] & o[:, 1:-2] & o[:, 2:-1] & o[:, 3:]).any()
                or (o[:-3] & o[1:-2] & o[2:-1] & o[3:]).any()
                or (o[:-3, :-3] & o[1:-2, 1:-2] & o[2:-1, 2:-1] & o[3:, 3:]).any()
                or (o[3:, :-3] & o[2:-1, 1:-2] & o[1:-2, 2:-1] & o[:-3, 3:]).any())


def dropped(grid, column, who):
    """``grid`` after ``who`` drops a disc in ``column`` (which must have room)."""
    out = grid.copy()
    out[np.argmax(out[:, column] == 0), column] = who
    return out


def legal_columns(grid):
    return [c for c in range(7) if grid[5, c] == 0]


def winning_columns(grid, who):
    return [c for c in legal_columns(grid) if fours(dropped(grid, c, who), who)]


@pytest.mark.parametrize("depth", MINIMAX_DEPTHS)
def test_connect4_minimax_takes_a_win_before_blocking(depth):
    rows = [".......", ".......", ".......", "......O", "......O", "XXX...O"]
    env = game(rows, opponent=1, opponent_depth=depth)
    _, reward, terminal, _ = play(env, 5)  # neither wins nor blocks
    assert (reward, terminal) == (-1.0, True)


@pytest.mark.parametrize("depth", MINIMAX_DEPTHS)
def test_connect4_minimax_blocks_an_open_three(depth):
    env = game([".......", ".......", ".......", ".......", ".......", "XXX...."], opponent=1, opponent_depth=depth)
    obs, reward, terminal, _ = play(env, 6)
    assert (reward, terminal) == (0.0, False)
    assert env.get_state(0)["last_opponent_move"] == 3 and board(obs)[5, 3] == -1


@pytest.mark.parametrize("depth", [2, 4, 6])
def test_connect4_minimax_sees_a_double_threat_coming(depth):
    # The agent's 1 makes .XXX. on the bottom row, open at both ends: one-ply lookahead cannot stop it,
    # a search of two plies or more answers 1 (or 4) first. Here the agent has played 2 and 3; the
    # opponent must take 1 or 4 now or lose.
    env = game([".......", ".......", ".......", ".......", ".......", "..XX..."],
               opponent=1, opponent_depth=depth)
    play(env, 6)  # a wasted move: the opponent replies
    assert env.get_state(0)["last_opponent_move"] in (1, 4)


@pytest.mark.parametrize("depth", MINIMAX_DEPTHS)
def test_connect4_minimax_never_misses_a_win_never_allows_an_avoidable_loss_and_plays_legally(depth):
    env = sailfish.make("connect4", num_envs=1, seed=depth, log_interval=0, opponent=1, opponent_depth=depth)
    env.reset()
    rng = np.random.default_rng(depth)
    checked_wins = checked_blocks = 0
    for _ in range(600):
        before = grid_of(env.get_state(0))
        column = int(rng.choice(legal_columns(before)))
        after_agent = dropped(before, column, 1)
        _, reward, terminal, _ = play(env, column)
        if fours(after_agent, 1) or not legal_columns(after_agent):
            continue  # the agent's move ended the game: no reply
        wins = winning_columns(after_agent, 2)
        reply = int(env.get_state(0)["last_opponent_move"]) if not terminal else None
        if wins:
            checked_wins += 1
            assert (reward, terminal) == (-1.0, True), f"missed a win in {wins}:\n{after_agent[::-1]}"
            continue
        if terminal:
            continue  # a draw by the reply filling the board
        assert reply in legal_columns(after_agent)
        after_reply = dropped(after_agent, reply, 2)
        assert (grid_of(env.get_state(0)) == after_reply).all()
        safe = [c for c in legal_columns(after_agent) if not winning_columns(dropped(after_agent, c, 2), 1)]
        if winning_columns(after_agent, 1) and safe:
            checked_blocks += 1
            assert reply in safe, f"allowed a win in one, {safe} were safe:\n{after_agent[::-1]}"
    assert checked_wins >= 5 and checked_blocks >= 5, (checked_wins, checked_blocks)


def test_connect4_minimax_opens_in_the_centre():
    for depth in MINIMAX_DEPTHS:
        env = sailfish.make("connect4", num_envs=4, seed=0, opponent=1, opponent_depth=depth, agent_first=0.0)
        env.reset()
        assert [env.get_state(i)["last_opponent_move"] for i in range(4)] == [3] * 4


def test_connect4_minimax_breaks_ties_between_mirror_columns_with_the_env_rng():
    # At depth 4 the replies 2 and 4 to a centre opening are worth the same (the board is symmetric):
    # the env's RNG picks one, so seeds differ, and one seed always gives the same game.
    def reply(seed):
        env = sailfish.make("connect4", num_envs=1, seed=seed, log_interval=0, opponent=1, opponent_depth=4)
        env.reset()
        play(env, 3)
        return int(env.get_state(0)["last_opponent_move"])

    replies = [reply(seed) for seed in range(16)]
    assert set(replies) == {2, 4}
    assert replies == [reply(seed) for seed in range(16)]


def test_connect4_minimax_beats_random_play_more_often_than_the_one_ply_opponent():
    def random_legal_score(**config):
        env = sailfish.make("connect4", num_envs=128, seed=0, log_interval=0, agent_first=0.5, **config)
        obs, _ = env.reset()
        rng = np.random.default_rng(0)
        for _ in range(200):
            obs, *_ = env.step((rng.random((128, 7)) * (obs[:, 42:] > 0)).argmax(axis=1).astype(np.int32))
        return env.episode_stats()["score"]

    one_ply, minimax = random_legal_score(), random_legal_score(opponent=1, opponent_depth=4)
    assert minimax < 0.005 < one_ply


def test_connect4_random_opponent_plays_every_legal_column():
    env = sailfish.make("connect4", num_envs=256, seed=0, opponent=2, agent_first=0.0)
    env.reset()
    openings = [int(env.get_state(i)["last_opponent_move"]) for i in range(256)]
    counts = np.bincount(openings, minlength=7)
    assert counts.min() > 20  # uniform: ~37 each; the one-ply opponent's weights give column 0 ~16


# ---------------------------------------------------------------- two rows: players = 2 (self-play)

def two_rows(seed=0, num_envs=1):
    env = sailfish.make("connect4", num_envs=num_envs, seed=seed, log_interval=0, players=2)
    env.reset()
    return env


def move(env, column, ignored=0):
    """Step a one-env two-row vector: the row to move plays ``column``, the other row ``ignored``."""
    to_move = int(env.get_state(0)["to_move"])
    actions = np.full(2, ignored, np.int32)
    actions[to_move] = column
    obs, rewards, terminals, truncations, _ = env.step(actions)
    return obs.copy(), rewards.tolist(), terminals.tolist(), truncations.tolist()


def test_connect4_two_rows_spec_and_start():
    spec = sailfish.envs.spec("connect4", players=2)
    assert spec.agents_per_env == 2 and sailfish.envs.spec("connect4").agents_per_env == 1
    env = two_rows(num_envs=3)
    assert env.observations.shape == (6, 49) and env.masks.tolist() == [True, False] * 3
    assert np.all(env.observations[:, :42] == 0) and np.all(env.observations[:, 42:] == 1)


def test_connect4_two_rows_known_game_gives_board_winner_rewards_and_masks():
    env = two_rows()
    # Row 0 builds the bottom row 2 3 4, row 1 stacks on top of it; row 0's 1 makes four.
    for k, column in enumerate([3, 3, 2, 2, 4, 4]):
        obs, rewards, terminals, truncations = move(env, column, ignored=6 - column)
        assert rewards == [0.0, 0.0] and terminals == [0, 0] and truncations == [0, 0]
        assert env.masks.tolist() == ([False, True] if k % 2 == 0 else [True, False])
    assert env.get_state(0)["agent_moves"] == 6 and env.get_state(0)["last_opponent_move"] == 4
    mine, theirs = board(obs[0]), board(obs[1])
    assert (mine == -theirs).all()  # each row sees its own discs as +1
    assert mine[5].tolist() == [0, 0, 1, 1, 1, 0, 0] and mine[4].tolist() == [0, 0, -1, -1, -1, 0, 0]
    assert (grid_of(env.get_state(0))[:2] == [[0, 0, 1, 1, 1, 0, 0], [0, 0, 2, 2, 2, 0, 0]]).all()
    obs, rewards, terminals, _ = move(env, 1)
    assert rewards == [1.0, -1.0] and terminals == [1, 1]
    stats = env.episode_stats()
    assert (stats["episodes"], stats["score"], stats["episode_return"], stats["episode_length"]) == (1, 1, 1, 7)
    # The next game: empty board, and row 1 moves first.
    assert np.all(obs[:, :42] == 0) and env.masks.tolist() == [False, True]
    assert env.get_state(0)["first"] == 1 and env.get_state(0)["to_move"] == 1
    for column in [0, 1, 0, 1, 0, 1]:  # row 1 stacks column 0, row 0 column 1
        move(env, column)
    obs, rewards, terminals, _ = move(env, 0)
    assert rewards == [-1.0, 1.0] and terminals == [1, 1]
    assert env.episode_stats()["score"] == 0.0  # row 0's win rate
    assert env.masks.tolist() == [True, False] and env.get_state(0)["first"] == 0


def test_connect4_two_rows_illegal_move_loses_for_the_row_that_made_it():
    env = two_rows()
    for _ in range(6):
        move(env, 0)
    assert env.observations[0, 42:].tolist() == [0, 1, 1, 1, 1, 1, 1]
    _, rewards, terminals, _ = move(env, 0)  # row 0's turn again: the full column
    assert rewards == [-1.0, 1.0] and terminals == [1, 1]
    assert env.episode_stats()["illegal_moves"] == 1.0


def test_connect4_two_rows_ignore_the_action_of_the_row_not_to_move():
    env = two_rows()
    for _ in range(6):
        move(env, 0)
    # Row 1's action is the full column: it is not row 1's turn, so it is padding.
    _, rewards, terminals, _ = move(env, 2, ignored=0)
    assert rewards == [0.0, 0.0] and terminals == [0, 0]
    assert grid_of(env.get_state(0))[0, 2] == 1


def test_connect4_two_rows_full_board_is_a_draw_for_both():
    cols = ["XXOOXX", "XXOOXX", "XXOOXX", "OOXXOO", "XXOOXX", "XXOOXX", "XXOOX."]  # bottom up
    rows = ["".join(cols[c][h] for c in range(7)) for h in reversed(range(6))]
    env = two_rows()
    env.set_state(0, agent_moves=41, last_opponent_move=4, to_move=1, first=1, **columns(rows))
    assert env.masks.tolist() == [False, True]
    assert (board(env.observations[0]) == -board(env.observations[1])).all()
    _, rewards, terminals, _ = move(env, 6)
    assert rewards == [0.0, 0.0] and terminals == [1, 1]
    assert env.episode_stats()["draws"] == 1.0
    assert env.masks.tolist() == [True, False]  # first alternates: row 0 opens the next game


def test_connect4_opening_plies_start_each_game_after_0_to_k_random_moves():
    n = 256
    env = sailfish.make("connect4", num_envs=n, seed=3, log_interval=0, players=2, opening_plies=4)
    env.reset()
    starts = [(env.observations.reshape(n, 2, 49).copy(), env.masks.reshape(n, 2).copy(), 0)]  # row 0 opens
    # Both sides play column 0 until it overflows, which ends the game (alternating discs in one
    # column and at most two opening discs per side never connect four); row 1 opens the next game.
    obs, masks, done = np.zeros((n, 2, 49), np.float32), np.zeros((n, 2), bool), np.zeros(n, bool)
    for _ in range(7):
        env.step(np.zeros(2 * n, np.int32))
        ended = env.terminals.reshape(n, 2)[:, 0] & ~done
        obs[ended], masks[ended] = env.observations.reshape(n, 2, 49)[ended], env.masks.reshape(n, 2)[ended]
        done |= ended
    assert done.all() and env.episode_stats()["illegal_moves"] == 1.0
    starts.append((obs, masks, 1))
    seen = set()
    for obs, masks, opener in starts:
        mine, theirs = (obs[:, 0, :42] == 1).sum(1), (obs[:, 0, :42] == -1).sum(1)
        plies = mine + theirs
        seen |= set(plies.tolist())
        assert plies.max() <= 4
        # the opening's moves alternate from the row that opens; then the other side of the last is to move
        opener_discs, other_discs = (mine, theirs) if opener == 0 else (theirs, mine)
        assert np.array_equal(opener_discs - other_discs, plies % 2)
        assert np.array_equal(masks[:, 0], (opener + plies) % 2 == 0) and np.array_equal(masks[:, 1], ~masks[:, 0])
        assert np.array_equal(obs[:, 1, :42], -obs[:, 0, :42])  # each row sees the board from its side
    assert seen == {0, 1, 2, 3, 4}  # 0 to k plies
    with pytest.raises(ValueError, match="opening_plies: only with players = 2"):
        sailfish.make("connect4", num_envs=1, opening_plies=2)


def test_connect4_two_rows_take_no_scripted_opponent():
    with pytest.raises(ValueError, match="players = 2 has no scripted opponent"):
        sailfish.make("connect4", num_envs=1, players=2, opponent=1)


def test_render_right_after_a_game_ends_shows_the_finished_board_then_the_new_one():
    env = sailfish.make("connect4", num_envs=1, players=2, seed=0, log_interval=0)
    env.reset()
    hole = np.array([235, 235, 240], np.uint8)

    def holes(frame):  # empty cells: the centre pixel of each of the 42 cells
        centres = frame[20::40, 20::40]
        return int((centres == hole).all(axis=-1).sum())

    for column in (0, 1, 0, 1, 0, 1, 0):  # row 0 (moving first) stacks four in column 0
        env.actions[:] = column
        _, _, terminals, _, _ = env.step(env.actions)
    assert terminals.all()
    assert holes(env.render(0)) == 42 - 7  # the finished game, winning disc included
    env.actions[:] = 3
    env.step(env.actions)
    assert holes(env.render(0)) == 42 - 1  # then the next game's board
    env.close()
