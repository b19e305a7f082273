// squared: an agent on a size x size grid must walk to a target within max_steps moves.
// Starts at the centre; the target is drawn uniformly from the other cells. Reaching it gives
// +1 and ends the episode; running out of moves gives -1 and ends it (a failure, not a time
// limit: the shortest path never needs more than size - 1 moves), so random play scores low.
//
// Observation: uint8 grid, 0 empty, 1 agent, 2 target; only the cells that change are written.
// Actions: Discrete(5): 0 stay, 1 up, 2 down, 3 left, 4 right (moves into a wall do nothing).
// Score: fraction of episodes that reach the target.
#ifndef SAILFISH_SQUARED_H
#define SAILFISH_SQUARED_H
#include "../core.h"

enum { SQUARED_SIZE, SQUARED_MAX_STEPS, SQUARED_NUM_PARAMS };
static const ParamDesc squared_params[] = {
    {"size", 11, 3, 63, 1, "side of the grid in cells"},
    {"max_steps", 0, 0, 1e6, 1, "moves before the episode fails; 0 means 2 * size"},
};

enum { SQ_EMPTY = 0, SQ_AGENT = 1, SQ_TARGET = 2 };

typedef struct {
    EnvCore core;
    int size, max_steps;
    int agent_row, agent_col, target_row, target_col;
    int steps;
} Squared;

static inline uint8_t* squared_cell(Squared* env, int row, int col) {
    return (uint8_t*)env->core.obs + row * env->size + col;
}

// A new episode; assumes only the agent's and target's cells are non-zero in the grid.
static inline void squared_new_episode(Squared* env) {
    *squared_cell(env, env->agent_row, env->agent_col) = SQ_EMPTY;
    *squared_cell(env, env->target_row, env->target_col) = SQ_EMPTY;
    int centre = env->size / 2, cells = env->size * env->size;
    int t = (int)sf_rng_below(&env->core.rng, (uint32_t)(cells - 1));
    if (t >= centre * env->size + centre) t++;  // skip the centre
    env->agent_row = env->agent_col = centre;
    env->target_row = t / env->size;
    env->target_col = t % env->size;
    env->steps = 0;
    *squared_cell(env, env->target_row, env->target_col) = SQ_TARGET;
    *squared_cell(env, centre, centre) = SQ_AGENT;
}

static void squared_init(Squared* env, const double* cfg) {
    env->size = (int)cfg[SQUARED_SIZE];
    env->max_steps = (int)cfg[SQUARED_MAX_STEPS] ? (int)cfg[SQUARED_MAX_STEPS] : 2 * env->size;
}

static void squared_reset(Squared* env) {
    memset(env->core.obs, 0, (size_t)(env->size * env->size));
    env->agent_row = env->agent_col = env->target_row = env->target_col = 0;
    squared_new_episode(env);
}

static inline void squared_step(Squared* env) {
    static const int8_t drow[5] = {0, -1, 1, 0, 0}, dcol[5] = {0, 0, 0, -1, 1};
    const int a = *(const int32_t*)env->core.actions;
    int row = env->agent_row + drow[a], col = env->agent_col + dcol[a];
    const int last = env->size - 1;
    row = row < 0 ? 0 : (row > last ? last : row);
    col = col < 0 ? 0 : (col > last ? last : col);
    *squared_cell(env, env->agent_row, env->agent_col) = SQ_EMPTY;
    *squared_cell(env, row, col) = SQ_AGENT;
    env->agent_row = row;
    env->agent_col = col;
    env->steps++;
    *env->core.truncations = 0;
    if (row == env->target_row && col == env->target_col) {
        *env->core.rewards = 1.0f;
        *env->core.terminals = 1;
        sf_log_episode(&env->core.stats, 1.0f, (float)env->steps, 1.0f);
        squared_new_episode(env);
    } else if (env->steps >= env->max_steps) {
        *env->core.rewards = -1.0f;
        *env->core.terminals = 1;
        sf_log_episode(&env->core.stats, -1.0f, (float)env->steps, 0.0f);
        squared_new_episode(env);
    } else {
        *env->core.rewards = 0.0f;
        *env->core.terminals = 0;
    }
}

#define SQUARED_CELL_PX 12
static void squared_render(const Squared* env, int lane, uint8_t* rgb) {
    (void)lane;
    const int px = SQUARED_CELL_PX, w = env->size * px, h = w;
    const Color bg = {30, 30, 40}, grid = {50, 50, 64}, agent = {80, 170, 255}, target = {255, 90, 90};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, grid);
    for (int r = 0; r < env->size; r++)
        for (int c = 0; c < env->size; c++)
            sf_fill_rect(rgb, w, h, c * px + 1, r * px + 1, (c + 1) * px - 1, (r + 1) * px - 1, bg);
    sf_fill_rect(rgb, w, h, env->target_col * px + 2, env->target_row * px + 2,
                 (env->target_col + 1) * px - 2, (env->target_row + 1) * px - 2, target);
    sf_fill_rect(rgb, w, h, env->agent_col * px + 2, env->agent_row * px + 2,
                 (env->agent_col + 1) * px - 2, (env->agent_row + 1) * px - 2, agent);
}

static void squared_layout(const double* cfg, EnvLayout* out) {
    int size = (int)cfg[SQUARED_SIZE];
    out->obs_type = SF_OBS_U8;
    out->obs_ndim = 2; out->obs_shape[0] = size; out->obs_shape[1] = size;
    out->obs_low = 0; out->obs_high = 2;
    out->act_type = SF_ACT_DISCRETE; out->act_dims = 1; out->act_n[0] = 5;
    out->agents_per_env = 1;
    out->render_height = out->render_width = size * SQUARED_CELL_PX;
}

static const char* const squared_state_fields[] = {
    "agent_row", "agent_col", "target_row", "target_col", "steps"};

static void squared_get_state(const Squared* env, int lane, double* out) {
    (void)lane;
    out[0] = env->agent_row; out[1] = env->agent_col;
    out[2] = env->target_row; out[3] = env->target_col; out[4] = env->steps;
}

static void squared_set_state(Squared* env, int lane, const double* in) {
    (void)lane;
    int last = env->size - 1;
    int v[4];
    for (int k = 0; k < 4; k++) v[k] = in[k] < 0 ? 0 : (in[k] > last ? last : (int)in[k]);
    memset(env->core.obs, 0, (size_t)(env->size * env->size));
    env->agent_row = v[0]; env->agent_col = v[1]; env->target_row = v[2]; env->target_col = v[3];
    env->steps = (int)in[4];
    *squared_cell(env, env->target_row, env->target_col) = SQ_TARGET;
    *squared_cell(env, env->agent_row, env->agent_col) = SQ_AGENT;
}

SF_DEFINE_UNIT_FUNCS(squared, Squared)

static const EnvDesc squared_desc = {
    .name = "squared",
    .doc = "walk to the target on a grid before the moves run out",
    .unit_size = sizeof(Squared), .lanes = 1,
    .params = squared_params, .num_params = SQUARED_NUM_PARAMS,
    .layout = squared_layout,
    .init = squared_init_unit, .reset = squared_reset_unit, .step_units = squared_step_units,
    .render = squared_render_unit,
    .state_fields = squared_state_fields, .num_state_fields = 5,
    .get_state = squared_get_state_unit, .set_state = squared_set_state_unit,
};

#endif
