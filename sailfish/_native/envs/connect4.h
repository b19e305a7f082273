// connect4: the agent plays Connect Four (7 columns x 6 rows) against a scripted opponent.
// The agent moves first with probability agent_first (default: always); otherwise the opponent's
// first move is already on the board when the episode starts.
//
// Opponent: one-ply lookahead. It takes a winning move if it has one, else blocks a column where
// the agent would win on its next move, else plays a random legal column with weights
// 1 2 3 4 3 2 1 (centre-biased). With probability 1 - opponent_skill a move skips the lookahead.
// Columns are tried centre first (3 2 4 1 5 0 6), so the choice among several wins or blocks is
// fixed.
//
// Observation: float32 [49]: the 42 cells row by row from the top row down, column 0 first
// (+1 the agent's disc, -1 the opponent's, 0 empty), then 7 legal-move flags (1 = the column has
// room). Actions: Discrete(7), the column to drop a disc in.
// Rules: +1 when the agent connects four, -1 when the opponent does, 0 for a full board (draw);
// each ends the episode. An illegal move (a full column, which the flags mark) loses at once:
// reward -1, terminal. Score: win rate. Extra stats: draws and illegal_moves (fractions of games).
//
// Boards are bitboards: column c, row h (0 = bottom) is bit 7c + h; bit 7c + 6 stays empty so
// shifts never carry a line from one column into the next.
#ifndef SAILFISH_CONNECT4_H
#define SAILFISH_CONNECT4_H
#include "../core.h"

#define C4_COLS 7
#define C4_ROWS 6

enum { CONNECT4_AGENT_FIRST, CONNECT4_OPPONENT_SKILL, CONNECT4_NUM_PARAMS };
static const ParamDesc connect4_params[] = {
    {"agent_first", 1, 0, 1, 0, "probability that the agent makes the first move of a game"},
    {"opponent_skill", 1, 0, 1, 0, "probability that an opponent move uses its win/block lookahead"},
};

static const char* const connect4_extra_stats[] = {"draws", "illegal_moves"};

typedef struct {
    EnvCore core;
    float agent_first, opponent_skill;
    uint64_t agent, opponent;  // discs of each side
    uint8_t heights[C4_COLS];  // discs in each column
    int agent_moves, last_opponent_move;
} Connect4;

static const int c4_order[C4_COLS] = {3, 2, 4, 1, 5, 0, 6};

static inline uint64_t c4_drop_bit(const Connect4* env, int col) {
    return 1ull << (7 * col + env->heights[col]);
}

static inline int c4_connects_four(uint64_t b) {
    static const int dirs[4] = {1, 7, 6, 8};  // vertical, horizontal, both diagonals
    for (int k = 0; k < 4; k++) {
        uint64_t m = b & (b >> dirs[k]);
        if (m & (m >> (2 * dirs[k]))) return 1;
    }
    return 0;
}

static inline void c4_write_obs(Connect4* env) {
    float* o = (float*)env->core.obs;
    for (int r = 0; r < C4_ROWS; r++) {
        int h = C4_ROWS - 1 - r;
        for (int c = 0; c < C4_COLS; c++) {
            uint64_t bit = 1ull << (7 * c + h);
            o[r * C4_COLS + c] = (env->agent & bit) ? 1.0f : ((env->opponent & bit) ? -1.0f : 0.0f);
        }
    }
    for (int c = 0; c < C4_COLS; c++) o[C4_ROWS * C4_COLS + c] = env->heights[c] < C4_ROWS ? 1.0f : 0.0f;
}

// The opponent's column (the board must have room).
static int c4_opponent_column(Connect4* env) {
    Rng* rng = &env->core.rng;
    if (env->opponent_skill >= 1.0f || sf_rng_uniform(rng) < env->opponent_skill) {
        for (int k = 0; k < C4_COLS; k++) {
            int c = c4_order[k];
            if (env->heights[c] < C4_ROWS && c4_connects_four(env->opponent | c4_drop_bit(env, c))) return c;
        }
        for (int k = 0; k < C4_COLS; k++) {
            int c = c4_order[k];
            if (env->heights[c] < C4_ROWS && c4_connects_four(env->agent | c4_drop_bit(env, c))) return c;
        }
    }
    static const int weight[C4_COLS] = {1, 2, 3, 4, 3, 2, 1};
    int total = 0;
    for (int c = 0; c < C4_COLS; c++) total += env->heights[c] < C4_ROWS ? weight[c] : 0;
    int pick = (int)sf_rng_below(rng, (uint32_t)total);
    for (int c = 0; c < C4_COLS; c++) {
        if (env->heights[c] >= C4_ROWS) continue;
        pick -= weight[c];
        if (pick < 0) return c;
    }
    return c4_order[0];  // not reached
}

static inline void c4_opponent_move(Connect4* env) {
    int c = c4_opponent_column(env);
    env->opponent |= c4_drop_bit(env, c);
    env->heights[c]++;
    env->last_opponent_move = c;
}

static void c4_new_game(Connect4* env) {
    env->agent = env->opponent = 0;
    memset(env->heights, 0, sizeof(env->heights));
    env->agent_moves = 0;
    env->last_opponent_move = -1;
    if (env->agent_first < 1.0f && sf_rng_uniform(&env->core.rng) >= env->agent_first) c4_opponent_move(env);
    c4_write_obs(env);
}

static void connect4_init(Connect4* env, const double* cfg) {
    env->agent_first = (float)cfg[CONNECT4_AGENT_FIRST];
    env->opponent_skill = (float)cfg[CONNECT4_OPPONENT_SKILL];
}

static void connect4_reset(Connect4* env) { c4_new_game(env); }

static inline int c4_full(const Connect4* env) {
    for (int c = 0; c < C4_COLS; c++)
        if (env->heights[c] < C4_ROWS) return 0;
    return 1;
}

// outcome: +1 agent won, -1 agent lost, 0 draw; illegal marks a loss by an illegal move.
static inline void c4_end_game(Connect4* env, float outcome, int illegal) {
    *env->core.rewards = outcome;
    *env->core.terminals = 1;
    EpisodeStats* s = &env->core.stats;
    sf_log_episode(s, outcome, (float)env->agent_moves, outcome > 0.0f ? 1.0f : 0.0f);
    s->extra[0] += outcome == 0.0f;
    s->extra[1] += illegal;
    c4_new_game(env);
}

static inline void connect4_step(Connect4* env) {
    const int col = *(const int32_t*)env->core.actions;
    *env->core.truncations = 0;
    env->agent_moves++;
    if (env->heights[col] >= C4_ROWS) { c4_end_game(env, -1.0f, 1); return; }
    env->agent |= c4_drop_bit(env, col);
    env->heights[col]++;
    if (c4_connects_four(env->agent)) { c4_end_game(env, 1.0f, 0); return; }
    if (c4_full(env)) { c4_end_game(env, 0.0f, 0); return; }
    c4_opponent_move(env);
    if (c4_connects_four(env->opponent)) { c4_end_game(env, -1.0f, 0); return; }
    if (c4_full(env)) { c4_end_game(env, 0.0f, 0); return; }
    *env->core.rewards = 0.0f;
    *env->core.terminals = 0;
    c4_write_obs(env);
}

#define C4_CELL_PX 40
static void connect4_render(const Connect4* env, int lane, uint8_t* rgb) {
    (void)lane;
    const int px = C4_CELL_PX, w = C4_COLS * px, h = C4_ROWS * px;
    const Color board = {30, 70, 170}, hole = {235, 235, 240}, mine = {250, 200, 40}, theirs = {220, 50, 50};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, board);
    for (int r = 0; r < C4_ROWS; r++) {
        int bit_row = C4_ROWS - 1 - r;
        for (int c = 0; c < C4_COLS; c++) {
            uint64_t bit = 1ull << (7 * c + bit_row);
            Color col = (env->agent & bit) ? mine : ((env->opponent & bit) ? theirs : hole);
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
    (void)cfg;
    out->obs_type = SF_OBS_F32;
    out->obs_ndim = 1; out->obs_shape[0] = C4_ROWS * C4_COLS + C4_COLS;
    out->obs_low = -1; out->obs_high = 1;
    out->act_type = SF_ACT_DISCRETE; out->act_dims = 1; out->act_n[0] = C4_COLS;
    out->agents_per_env = 1;
    out->render_height = C4_ROWS * C4_CELL_PX; out->render_width = C4_COLS * C4_CELL_PX;
}

// colN: column N from the bottom up as base-3 digits (1 the agent's disc, 2 the opponent's),
// the bottom disc being the lowest digit: 1 + 3 * 2 = 7 is an agent disc under an opponent
// disc. A 0 digit ends the column (discs never float). last_opponent_move: -1 if none.
static const char* const connect4_state_fields[] = {
    "col0", "col1", "col2", "col3", "col4", "col5", "col6", "agent_moves", "last_opponent_move"};

static void connect4_get_state(const Connect4* env, int lane, double* out) {
    (void)lane;
    for (int c = 0; c < C4_COLS; c++) {
        double v = 0, place = 1;
        for (int h = 0; h < env->heights[c]; h++, place *= 3) {
            uint64_t bit = 1ull << (7 * c + h);
            v += place * ((env->agent & bit) ? 1 : 2);
        }
        out[c] = v;
    }
    out[7] = env->agent_moves;
    out[8] = env->last_opponent_move;
}

static void connect4_set_state(Connect4* env, int lane, const double* in) {
    (void)lane;
    env->agent = env->opponent = 0;
    for (int c = 0; c < C4_COLS; c++) {
        double d = in[c];
        long v = d >= 0 && d < 729 ? (long)d : 0;  // 729 = 3^6: six discs at most
        int h = 0;
        for (; h < C4_ROWS && v % 3 != 0; h++, v /= 3) {
            uint64_t bit = 1ull << (7 * c + h);
            if (v % 3 == 1) env->agent |= bit; else env->opponent |= bit;
        }
        env->heights[c] = (uint8_t)h;
    }
    env->agent_moves = in[7] >= 0 && in[7] < 1e9 ? (int)in[7] : 0;
    env->last_opponent_move = in[8] >= 0 && in[8] < C4_COLS ? (int)in[8] : -1;
    c4_write_obs(env);
}

SF_DEFINE_UNIT_FUNCS(connect4, Connect4)

static const EnvDesc connect4_desc = {
    .name = "connect4",
    .doc = "Connect Four against a one-ply lookahead opponent; full columns are masked and lose",
    .unit_size = sizeof(Connect4), .lanes = 1,
    .params = connect4_params, .num_params = CONNECT4_NUM_PARAMS,
    .extra_stats = connect4_extra_stats, .num_extra_stats = 2,
    .layout = connect4_layout,
    .init = connect4_init_unit, .reset = connect4_reset_unit, .step_units = connect4_step_units,
    .render = connect4_render_unit,
    .state_fields = connect4_state_fields, .num_state_fields = 9,
    .get_state = connect4_get_state_unit, .set_state = connect4_set_state_unit,
};

#endif
