// connect4: Connect Four (7 columns x 6 rows), the agent against a scripted opponent, or (players
// = 2) both sides played by agents for self-play.
//
// One agent (players = 1, the default): the agent moves first with probability agent_first
// (default: always); otherwise the opponent's first move is already on the board when the episode
// starts. The opponent (parameter `opponent`):
//   0 (default) one-ply lookahead. It takes a winning move if it has one, else blocks a column
//     where the agent would win on its next move, else plays a random legal column with weights
//     1 2 3 4 3 2 1 (centre-biased). Columns are tried centre first (3 2 4 1 5 0 6), so the
//     choice among several wins or blocks is fixed.
//   1 alpha-beta minimax to opponent_depth plies (connect4_bot.h: ties between equal moves go to
//     the column nearest the centre, then to the env's RNG between c and 6 - c).
//   2 a uniformly random legal column.
// With probability 1 - opponent_skill a move of opponent 0 or 1 skips its lookahead or search and
// plays the centre-weighted random column.
//
// Two agents (players = 2): each env owns two rows, one per side, and the opponent parameters are
// unused. Row 0 moves first in the first game after a reset, and the first move then alternates
// between the rows game by game (state field `first`), so one policy playing both rows plays
// first and second equally often. Only the row to move acts: masks marks it (1) and the other row
// (0) is padding whose action is ignored. With opening_plies = k > 0 each game starts after a
// uniformly drawn 0 to k random moves (uniform columns, the sides alternating from the row that
// moves first; six plies can neither connect four nor fill a column past its top), a spread of
// openings for self-play. Each row's observation is the board from its own side
// (+1 its discs, -1 the other's), rewritten for both rows every step. The step that ends a game
// gives both rows terminal = 1 and the outcome from each side: +1 / -1 for the winner / loser, 0
// each for a draw; an illegal move loses for the row that made it (-1, the other +1). Every other
// step gives both rows reward 0.
//
// Observation: float32 [49]: the 42 cells row by row from the top row down, column 0 first
// (+1 the row's own disc, -1 the other side's, 0 empty), then 7 legal-move flags (1 = the column
// has room). Actions: Discrete(7), the column to drop a disc in.
// Rules: +1 when the agent connects four, -1 when the opponent does, 0 for a full board (draw);
// each ends the episode. An illegal move (a full column, which the flags mark) loses at once:
// reward -1, terminal. Score: win rate (players = 2: row 0's). Episode length: the agent's moves
// (players = 2: the moves of both rows). Extra stats: draws and illegal_moves (fractions of games).
//
// Boards are bitboards (connect4_bot.h): column c, row h (0 = bottom) is bit 7c + h.
#ifndef SAILFISH_CONNECT4_H
#define SAILFISH_CONNECT4_H
#include "../core.h"
#include "connect4_bot.h"

enum { CONNECT4_AGENT_FIRST, CONNECT4_OPPONENT_SKILL, CONNECT4_OPPONENT, CONNECT4_OPPONENT_DEPTH, CONNECT4_PLAYERS,
       CONNECT4_OPENING_PLIES, CONNECT4_NUM_PARAMS };
static const ParamDesc connect4_params[] = {
    {"agent_first", 1, 0, 1, 0, "probability that the agent makes the first move of a game"},
    {"opponent_skill", 1, 0, 1, 0, "probability that an opponent move uses its win/block lookahead or search"},
    {"opponent", 0, 0, 2, 1, "0 = one-ply lookahead, 1 = alpha-beta minimax (opponent_depth), 2 = random legal"},
    {"opponent_depth", 4, 1, C4_MAX_DEPTH, 1, "plies the minimax opponent (opponent = 1) searches"},
    {"players", 1, 1, 2, 1, "1 = the agent vs a scripted opponent; 2 = both sides are agent rows (self-play)"},
    {"opening_plies", 0, 0, 6, 1, "players = 2: each game starts after 0 to opening_plies (uniform) random moves"},
};

static const char* const connect4_extra_stats[] = {"draws", "illegal_moves"};

typedef struct {
    EnvCore core;
    float agent_first, opponent_skill;
    int opponent_kind, opponent_depth, players, opening_plies;
    uint64_t discs[2];         // discs of row 0 (the agent) and row 1 (the opponent, or the second agent)
    uint8_t heights[C4_COLS];  // discs in each column
    int to_move;               // the row whose turn it is (always 0 between steps when players = 1)
    int first;                 // the row that moved first this game
    int agent_moves, last_opponent_move;
    uint64_t final_discs[2];   // the finished game's discs, rendered until the next step (see render)
    int just_ended;            // a game ended on the latest step (the board shown is already the next)
} Connect4;

static inline uint64_t c4_drop_bit(const Connect4* env, int col) {
    return 1ull << (7 * col + env->heights[col]);
}

static inline void c4_write_obs_row(const Connect4* env, int row) {
    float* o = (float*)env->core.obs + row * (C4_ROWS * C4_COLS + C4_COLS);
    const uint64_t own = env->discs[row], other = env->discs[1 - row];
    for (int r = 0; r < C4_ROWS; r++) {
        int h = C4_ROWS - 1 - r;
        for (int c = 0; c < C4_COLS; c++) {
            uint64_t bit = 1ull << (7 * c + h);
            o[r * C4_COLS + c] = (own & bit) ? 1.0f : ((other & bit) ? -1.0f : 0.0f);
        }
    }
    for (int c = 0; c < C4_COLS; c++) o[C4_ROWS * C4_COLS + c] = env->heights[c] < C4_ROWS ? 1.0f : 0.0f;
}

static inline void c4_write_obs(Connect4* env) {
    c4_write_obs_row(env, 0);
    if (env->players == 2) {
        c4_write_obs_row(env, 1);
        env->core.masks[0] = env->to_move == 0;
        env->core.masks[1] = env->to_move == 1;
    }
}

// The opponent's column (the board must have room): connect4_bot.h's scripted bot on the env's RNG.
static int c4_opponent_column(Connect4* env) {
    return c4_bot_column(env->discs[1], env->discs[0], env->opponent_kind, env->opponent_depth, env->opponent_skill,
                         &env->core.rng);
}

static inline void c4_opponent_move(Connect4* env) {
    int c = c4_opponent_column(env);
    env->discs[1] |= c4_drop_bit(env, c);
    env->heights[c]++;
    env->last_opponent_move = c;
}

// A new game whose first move is `first`'s (players = 2); with one agent, agent_first decides.
static void c4_new_game(Connect4* env, int first) {
    env->discs[0] = env->discs[1] = 0;
    memset(env->heights, 0, sizeof(env->heights));
    env->agent_moves = 0;
    env->last_opponent_move = -1;
    env->first = env->to_move = env->players == 2 ? first : 0;
    if (env->opening_plies > 0) {  // players = 2 only (check_config); six plies cannot connect four
        for (int k = (int)sf_rng_below(&env->core.rng, (uint32_t)env->opening_plies + 1); k > 0; k--) {
            int c = (int)sf_rng_below(&env->core.rng, C4_COLS);
            env->discs[env->to_move] |= c4_drop_bit(env, c);
            env->heights[c]++;
            env->to_move = 1 - env->to_move;
        }
    }
    if (env->players == 1 && env->agent_first < 1.0f && sf_rng_uniform(&env->core.rng) >= env->agent_first) {
        c4_opponent_move(env);
        env->first = 1;
    }
    c4_write_obs(env);
}

static void connect4_init(Connect4* env, const double* cfg) {
    env->agent_first = (float)cfg[CONNECT4_AGENT_FIRST];
    env->opponent_skill = (float)cfg[CONNECT4_OPPONENT_SKILL];
    env->opponent_kind = (int)cfg[CONNECT4_OPPONENT];
    env->opponent_depth = (int)cfg[CONNECT4_OPPONENT_DEPTH];
    env->players = (int)cfg[CONNECT4_PLAYERS];
    env->opening_plies = (int)cfg[CONNECT4_OPENING_PLIES];
}

static void connect4_reset(Connect4* env) { env->just_ended = 0; c4_new_game(env, 0); }

static inline int c4_full(const Connect4* env) {
    for (int c = 0; c < C4_COLS; c++)
        if (env->heights[c] < C4_ROWS) return 0;
    return 1;
}

// outcome: +1 row 0 (the agent) won, -1 it lost, 0 draw; illegal marks a loss by an illegal move.
static inline void c4_end_game(Connect4* env, float outcome, int illegal) {
    env->core.rewards[0] = outcome;
    env->core.terminals[0] = 1;
    if (env->players == 2) {
        env->core.rewards[1] = -outcome;
        env->core.terminals[1] = 1;
    }
    EpisodeStats* s = &env->core.stats;
    sf_log_episode(s, outcome, (float)env->agent_moves, outcome > 0.0f ? 1.0f : 0.0f);
    s->extra[0] += outcome == 0.0f;
    s->extra[1] += illegal;
    env->final_discs[0] = env->discs[0];
    env->final_discs[1] = env->discs[1];
    env->just_ended = 1;
    c4_new_game(env, 1 - env->first);
}

// players = 2: the row to move drops its disc; the other row's action is ignored.
static inline void c4_step_two_rows(Connect4* env) {
    const int row = env->to_move, col = ((const int32_t*)env->core.actions)[row];
    const float won = row == 0 ? 1.0f : -1.0f;  // the outcome for row 0 if `row` wins
    env->core.truncations[0] = env->core.truncations[1] = 0;
    env->agent_moves++;
    if (env->heights[col] >= C4_ROWS) { c4_end_game(env, -won, 1); return; }
    env->discs[row] |= c4_drop_bit(env, col);
    env->heights[col]++;
    if (c4_connects_four(env->discs[row])) { c4_end_game(env, won, 0); return; }
    if (c4_full(env)) { c4_end_game(env, 0.0f, 0); return; }
    env->core.rewards[0] = env->core.rewards[1] = 0.0f;
    env->core.terminals[0] = env->core.terminals[1] = 0;
    env->to_move = 1 - row;
    env->last_opponent_move = col;
    c4_write_obs(env);
}

static inline void connect4_step(Connect4* env) {
    env->just_ended = 0;
    if (env->players == 2) { c4_step_two_rows(env); return; }
    const int col = *(const int32_t*)env->core.actions;
    *env->core.truncations = 0;
    env->agent_moves++;
    if (env->heights[col] >= C4_ROWS) { c4_end_game(env, -1.0f, 1); return; }
    env->discs[0] |= c4_drop_bit(env, col);
    env->heights[col]++;
    if (c4_connects_four(env->discs[0])) { c4_end_game(env, 1.0f, 0); return; }
    if (c4_full(env)) { c4_end_game(env, 0.0f, 0); return; }
    c4_opponent_move(env);
    if (c4_connects_four(env->discs[1])) { c4_end_game(env, -1.0f, 0); return; }
    if (c4_full(env)) { c4_end_game(env, 0.0f, 0); return; }
    *env->core.rewards = 0.0f;
    *env->core.terminals = 0;
    c4_write_obs(env);
}

#define C4_CELL_PX 40
// Right after a game ends (the env already set up the next one, same-step autoreset) the finished
// game's board is drawn, so a recording's last frame shows the winning move.
static void connect4_render(const Connect4* env, int lane, uint8_t* rgb) {
    (void)lane;
    const uint64_t* discs = env->just_ended ? env->final_discs : env->discs;
    const int px = C4_CELL_PX, w = C4_COLS * px, h = C4_ROWS * px;
    const Color board = {30, 70, 170}, hole = {235, 235, 240}, mine = {250, 200, 40}, theirs = {220, 50, 50};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, board);
    for (int r = 0; r < C4_ROWS; r++) {
        int bit_row = C4_ROWS - 1 - r;
        for (int c = 0; c < C4_COLS; c++) {
            uint64_t bit = 1ull << (7 * c + bit_row);
            Color col = (discs[0] & bit) ? mine : ((discs[1] & bit) ? theirs : hole);
            const int cx = c * px + px / 2, cy = r * px + px / 2, rad = px / 2 - 4;
            for (int y = -rad; y <= rad; y++)  // a disc, one span per pixel row
                for (int x = -rad; x <= rad; x++)
                    if (x * x + y * y <= rad * rad) {
                        uint8_t* p = rgb + 3 * ((cy + y) * w + cx + x);
                        p[0] = col.r; p[1] = col.g; p[2] = col.b;
                    }
        }
    }
}

static void connect4_layout(const double* cfg, EnvLayout* out) {
    out->obs_type = SF_OBS_F32;
    out->obs_ndim = 1; out->obs_shape[0] = C4_ROWS * C4_COLS + C4_COLS;
    out->obs_low = -1; out->obs_high = 1;
    out->act_type = SF_ACT_DISCRETE; out->act_dims = 1; out->act_n[0] = C4_COLS;
    out->agents_per_env = (int)cfg[CONNECT4_PLAYERS];
    out->render_height = C4_ROWS * C4_CELL_PX; out->render_width = C4_COLS * C4_CELL_PX;
    out->legal_flags_offset = C4_ROWS * C4_COLS; out->num_legal_flags = C4_COLS;
}

static const char* connect4_check_config(const double* cfg) {
    if (cfg[CONNECT4_PLAYERS] == 2 && cfg[CONNECT4_OPPONENT] != C4_BOT_ONESTEP)
        return "opponent: players = 2 has no scripted opponent (both sides are agent rows); "
               "leave opponent at 0 or use players = 1";
    if (cfg[CONNECT4_OPENING_PLIES] > 0 && cfg[CONNECT4_PLAYERS] != 2)
        return "opening_plies: only with players = 2 (a scripted opponent's games start from the empty board)";
    return NULL;
}

// colN: column N from the bottom up as base-3 digits (1 a disc of row 0, the agent; 2 of row 1,
// the opponent), the bottom disc being the lowest digit: 1 + 3 * 2 = 7 is a row-0 disc under a
// row-1 disc. A 0 digit ends the column (discs never float). agent_moves: the agent's moves this
// game (players = 2: both rows' moves). last_opponent_move: the column of the last move by the
// side not to move now, -1 if none. to_move: the row whose turn it is (players = 2; always 0
// otherwise). first: the row that moved first this game; the next game's first row is the other.
static const char* const connect4_state_fields[] = {
    "col0", "col1", "col2", "col3", "col4", "col5", "col6", "agent_moves", "last_opponent_move", "to_move",
    "first"};
enum { C4S_AGENT_MOVES = 7, C4S_LAST_OPPONENT_MOVE, C4S_TO_MOVE, C4S_FIRST, C4S_NUM_FIELDS };

static void connect4_get_state(const Connect4* env, int lane, double* out) {
    (void)lane;
    for (int c = 0; c < C4_COLS; c++) {
        double v = 0, place = 1;
        for (int h = 0; h < env->heights[c]; h++, place *= 3) {
            uint64_t bit = 1ull << (7 * c + h);
            v += place * ((env->discs[0] & bit) ? 1 : 2);
        }
        out[c] = v;
    }
    out[C4S_AGENT_MOVES] = env->agent_moves;
    out[C4S_LAST_OPPONENT_MOVE] = env->last_opponent_move;
    out[C4S_TO_MOVE] = env->to_move;
    out[C4S_FIRST] = env->first;
}

static void connect4_set_state(Connect4* env, int lane, const double* in) {
    (void)lane;
    env->discs[0] = env->discs[1] = 0;
    for (int c = 0; c < C4_COLS; c++) {
        double d = in[c];
        long v = d >= 0 && d < 729 ? (long)d : 0;  // 729 = 3^6: six discs at most
        int h = 0;
        for (; h < C4_ROWS && v % 3 != 0; h++, v /= 3) {
            uint64_t bit = 1ull << (7 * c + h);
            env->discs[v % 3 == 1 ? 0 : 1] |= bit;
        }
        env->heights[c] = (uint8_t)h;
    }
    env->agent_moves = in[C4S_AGENT_MOVES] >= 0 && in[C4S_AGENT_MOVES] < 1e9 ? (int)in[C4S_AGENT_MOVES] : 0;
    const double last = in[C4S_LAST_OPPONENT_MOVE];
    env->last_opponent_move = last >= 0 && last < C4_COLS ? (int)last : -1;
    env->to_move = env->players == 2 && in[C4S_TO_MOVE] == 1 ? 1 : 0;
    env->first = in[C4S_FIRST] == 1 ? 1 : 0;
    c4_write_obs(env);
}

SF_DEFINE_UNIT_FUNCS(connect4, Connect4)

static const EnvDesc connect4_desc = {
    .name = "connect4",
    .doc = "Connect Four against a scripted opponent (one-ply, minimax or random) or itself (players=2)",
    .unit_size = sizeof(Connect4), .lanes = 1,
    .params = connect4_params, .num_params = CONNECT4_NUM_PARAMS,
    .extra_stats = connect4_extra_stats, .num_extra_stats = 2,
    .layout = connect4_layout, .check_config = connect4_check_config,
    .init = connect4_init_unit, .reset = connect4_reset_unit, .step_units = connect4_step_units,
    .render = connect4_render_unit,
    .state_fields = connect4_state_fields, .num_state_fields = C4S_NUM_FIELDS,
    .get_state = connect4_get_state_unit, .set_state = connect4_set_state_unit,
};

#endif
