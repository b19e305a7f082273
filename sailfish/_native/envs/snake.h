// snake: many snakes in one arena. Each env is one arena (a "world") of width x height cells
// surrounded by walls; each of its `snakes` snakes is an agent row. Food is kept at `food` cells
// (topped up on random free cells after every step; a crowded map may take a few steps).
//
// A step moves the snakes one by one in index order (so results are deterministic, and a lower
// index wins a head-on race for a cell), then respawns dead snakes, tops up food, and writes
// every snake's observation.
// - Actions: Discrete(4), absolute directions 0 up, 1 down, 2 left, 3 right. Reversing into the
//   neck (the opposite of the last move, for a snake longer than 1) is ignored: it keeps going.
// - Moving into food: +1 reward, length +1 (the tail stays). Moving into the cell its own tail
//   leaves on this step is allowed. Moving into a wall, any body or any head: the snake dies:
//   reward -1, terminal on its row, its cells become empty.
// - A life is truncated when it reaches max_steps steps (truncation flag; 0 means never).
// - A dead or truncated snake respawns in the same step, length 1, on a random free cell, so
//   its row already holds the next life's first observation. If no free cell exists it waits
//   off the map (observation all zeros, reward 0, actions ignored, mask 0) and retries each step.
// - With horizon > 0 an arena lasts horizon steps (the default 0: for ever). On its last step,
//   after the moves, every life still going is truncated, so every row has terminal or
//   truncation set, and a new arena starts in the same step: the map cleared, every snake
//   respawned at length 1, food laid again. An arena is one game for self-play
//   (sailfish.league.OpponentEnv rematches an env when all its rows end on the same step).
//
// Observation: uint8 (2 vision + 1)^2 window centred on the snake's own head: 0 empty, 1 food,
// 2 wall (also outside the arena), 3 another snake's body, 4 another snake's head, 5 own body
// and head. Episode (= one life) stats: return = food eaten, -1 if it died; length = steps
// lived; score = snake length reached.
//
// Memory: every arena reserves the maximum map (128 x 128 plus vision padding) and 512 snakes,
// about 30 KB, whatever its config: fixed arrays keep init infallible (init cannot report a
// failed allocation) and the struct self-contained.
// Grid cells hold the code in the low 3 bits and, for body cells, the direction towards the
// head in bits 3-4: the tail follows those links, so bodies need no ring buffers.
#ifndef SAILFISH_SNAKE_H
#define SAILFISH_SNAKE_H
#include "../core.h"

#define SNAKE_MAX_SIDE 128
#define SNAKE_MAX_VISION 7
#define SNAKE_MAX_PADDED (SNAKE_MAX_SIDE + 2 * SNAKE_MAX_VISION)
#define SNAKE_MAX_SNAKES 512

enum { SNAKE_WIDTH, SNAKE_HEIGHT, SNAKE_SNAKES, SNAKE_FOOD, SNAKE_VISION, SNAKE_MAX_STEPS, SNAKE_HORIZON,
       SNAKE_RENDER_TEAMS, SNAKE_NUM_PARAMS };
static const ParamDesc snake_params[] = {
    {"width", 40, 8, SNAKE_MAX_SIDE, 1, "arena width in cells (the walls around it are extra)"},
    {"height", 40, 8, SNAKE_MAX_SIDE, 1, "arena height in cells"},
    {"snakes", 32, 1, SNAKE_MAX_SNAKES, 1, "snakes per arena = agent rows per env"},
    {"food", 48, 0, SNAKE_MAX_SIDE * SNAKE_MAX_SIDE / 2, 1, "food cells kept on the map"},
    {"vision", 5, 1, SNAKE_MAX_VISION, 1, "view radius: the observation is (2 vision + 1)^2 cells"},
    {"max_steps", 1000, 0, 1e7, 1, "steps after which a life is truncated; 0 means never"},
    {"horizon", 0, 0, 1e7, 1, "steps after which the arena ends, every life truncated, and a new one starts; 0: never"},
    {"render_teams", 0, 0, SNAKE_MAX_SNAKES, 1, "render only: snakes below this index drawn blue, the rest orange "
     "(a self-play arena's two sides); 0: a green-blue shade per snake"},
};

enum { SN_EMPTY = 0, SN_FOOD = 1, SN_WALL = 2, SN_BODY = 3, SN_HEAD = 4, SN_OWN = 5 };
#define SN_CODE 7u
#define SN_LINK_SHIFT 3

static const int8_t snake_drow[4] = {-1, 1, 0, 0}, snake_dcol[4] = {0, 0, -1, 1};

typedef struct {
    int16_t head_row, head_col, tail_row, tail_col;  // padded-grid coordinates
    int32_t length, lifetime;
    uint8_t dir, alive;
} SnakeAgent;

typedef struct {
    EnvCore core;
    int width, height, num_snakes, food_target, vision, max_steps, horizon, render_teams;
    int arena_steps;  // steps of the current arena
    int stride;    // width + 2 vision: the padded row length
    int food;      // food cells on the map now
    int selected;  // the snake get_state/set_state address
    SnakeAgent snakes[SNAKE_MAX_SNAKES];
    uint8_t grid[SNAKE_MAX_PADDED * SNAKE_MAX_PADDED];
} Snake;

static inline int snake_index(const Snake* env, int row, int col) { return row * env->stride + col; }

// A random empty arena cell, or -1. `scan` falls back to a full pass when the probes miss.
static int snake_free_cell(Snake* env, int probes, int scan) {
    const int R = env->vision, W = env->width, H = env->height;
    for (int t = 0; t < probes; t++) {
        int r = (int)sf_rng_below(&env->core.rng, (uint32_t)H) + R;
        int c = (int)sf_rng_below(&env->core.rng, (uint32_t)W) + R;
        int i = snake_index(env, r, c);
        if (env->grid[i] == SN_EMPTY) return i;
    }
    if (!scan) return -1;
    int r = (int)sf_rng_below(&env->core.rng, (uint32_t)H), c = (int)sf_rng_below(&env->core.rng, (uint32_t)W);
    for (int k = 0; k < W * H; k++) {
        int i = snake_index(env, r + R, c + R);
        if (env->grid[i] == SN_EMPTY) return i;
        if (++c == W) { c = 0; if (++r == H) r = 0; }
    }
    return -1;
}

// Empties every cell of a snake's body, walking the links from the tail to the head.
static void snake_remove(Snake* env, SnakeAgent* a) {
    if (!a->alive) return;
    const int delta[4] = {-env->stride, env->stride, -1, 1};
    int i = snake_index(env, a->tail_row, a->tail_col);
    for (int k = 0; k < a->length; k++) {
        int link = env->grid[i] >> SN_LINK_SHIFT;
        env->grid[i] = SN_EMPTY;
        i += delta[link & 3];
    }
    a->alive = 0;
}

static void snake_spawn(Snake* env, SnakeAgent* a) {
    int i = snake_free_cell(env, 16, 1);
    if (i < 0) return;  // no room: stays dead, retried next step
    a->head_row = a->tail_row = (int16_t)(i / env->stride);
    a->head_col = a->tail_col = (int16_t)(i % env->stride);
    a->length = 1;
    a->lifetime = 0;
    a->dir = 0;
    a->alive = 1;
    env->grid[i] = SN_HEAD;
}

static void snake_top_up_food(Snake* env) {
    for (int missing = env->food_target - env->food; missing > 0; missing--) {
        int i = snake_free_cell(env, 8, 0);
        if (i < 0) break;
        env->grid[i] = SN_FOOD;
        env->food++;
    }
}

// One snake's window: rows of the grid with the link bits masked off, then its own cells.
static inline void snake_write_obs(Snake* env, int s) {
    const int R = env->vision, V = 2 * R + 1, stride = env->stride;
    uint8_t* o = (uint8_t*)env->core.obs + (size_t)s * (size_t)(V * V);
    const SnakeAgent* a = &env->snakes[s];
    if (!a->alive) { memset(o, 0, (size_t)(V * V)); return; }
    const uint8_t* g = env->grid + snake_index(env, a->head_row - R, a->head_col - R);
    if (V >= 8) {
        // Two overlapping 8-byte words cover a row of 8 to 15 cells.
        const uint64_t mask = 0x0707070707070707ull;
        for (int r = 0; r < V; r++) {
            uint64_t lo, hi;
            memcpy(&lo, g + r * stride, 8);
            memcpy(&hi, g + r * stride + V - 8, 8);
            lo &= mask; hi &= mask;
            memcpy(o + r * V, &lo, 8);
            memcpy(o + r * V + V - 8, &hi, 8);
        }
    } else {
        for (int r = 0; r < V; r++)
            for (int c = 0; c < V; c++) o[r * V + c] = g[r * stride + c] & SN_CODE;
    }
    const int delta[4] = {-stride, stride, -1, 1};
    int i = snake_index(env, a->tail_row, a->tail_col);
    int wr = a->tail_row - a->head_row + R, wc = a->tail_col - a->head_col + R;
    for (int k = 0; k < a->length; k++) {
        if ((unsigned)wr < (unsigned)V && (unsigned)wc < (unsigned)V) o[wr * V + wc] = SN_OWN;
        int link = (env->grid[i] >> SN_LINK_SHIFT) & 3;
        i += delta[link];
        wr += snake_drow[link];
        wc += snake_dcol[link];
    }
}

// Observations and masks of every snake: a snake waiting off the map is masked out.
static void snake_write_all_obs(Snake* env) {
    for (int s = 0; s < env->num_snakes; s++) {
        snake_write_obs(env, s);
        env->core.masks[s] = env->snakes[s].alive;
    }
}

static void snake_init(Snake* env, const double* cfg) {
    env->width = (int)cfg[SNAKE_WIDTH];
    env->height = (int)cfg[SNAKE_HEIGHT];
    env->num_snakes = (int)cfg[SNAKE_SNAKES];
    env->food_target = (int)cfg[SNAKE_FOOD];
    env->vision = (int)cfg[SNAKE_VISION];
    env->max_steps = (int)cfg[SNAKE_MAX_STEPS];
    env->horizon = (int)cfg[SNAKE_HORIZON];
    env->render_teams = (int)cfg[SNAKE_RENDER_TEAMS];
    env->stride = env->width + 2 * env->vision;
}

// Walls everywhere, an empty arena inside, no snakes, no food.
static void snake_clear(Snake* env) {
    const int R = env->vision, rows = env->height + 2 * R;
    memset(env->grid, SN_WALL, (size_t)(rows * env->stride));
    for (int r = R; r < R + env->height; r++) memset(env->grid + snake_index(env, r, R), SN_EMPTY, (size_t)env->width);
    for (int s = 0; s < env->num_snakes; s++) env->snakes[s].alive = 0;
    env->food = 0;
}

static void snake_new_arena(Snake* env) {
    snake_clear(env);
    env->arena_steps = 0;
    for (int s = 0; s < env->num_snakes; s++) snake_spawn(env, &env->snakes[s]);
    snake_top_up_food(env);
    snake_write_all_obs(env);
}

static void snake_reset(Snake* env) {
    env->selected = 0;
    snake_new_arena(env);
}

static inline void snake_end_life(Snake* env, SnakeAgent* a, int died) {
    float ret = (float)(a->length - 1) - (died ? 1.0f : 0.0f);
    sf_log_episode(&env->core.stats, ret, (float)a->lifetime, (float)a->length);
    snake_remove(env, a);
}

// The arena's last step, after the moves: the lives still going are truncated (a snake that died
// on this step keeps its terminal; one waiting off the map gets a truncation too), then a new arena.
static void snake_end_arena(Snake* env) {
    for (int s = 0; s < env->num_snakes; s++) {
        SnakeAgent* a = &env->snakes[s];
        if (a->alive) snake_end_life(env, a, 0);
        if (!env->core.terminals[s]) env->core.truncations[s] = 1;
    }
    snake_new_arena(env);
}

static inline void snake_step(Snake* env) {
    const int32_t* actions = (const int32_t*)env->core.actions;
    float* rewards = env->core.rewards;
    uint8_t* terminals = env->core.terminals;
    uint8_t* truncations = env->core.truncations;
    uint8_t* grid = env->grid;
    const int stride = env->stride, n = env->num_snakes;
    const int delta[4] = {-stride, stride, -1, 1};
    int any_dead = 0;
    for (int s = 0; s < n; s++) {
        SnakeAgent* a = &env->snakes[s];
        rewards[s] = 0.0f;
        terminals[s] = 0;
        truncations[s] = 0;
        if (!a->alive) { any_dead = 1; continue; }
        int d = actions[s] & 3;
        if (a->length > 1 && d == (a->dir ^ 1)) d = a->dir;
        const int head = snake_index(env, a->head_row, a->head_col);
        const int tail = snake_index(env, a->tail_row, a->tail_col);
        const int next = head + delta[d];
        const unsigned code = grid[next] & SN_CODE;
        const int eat = code == SN_FOOD;
        a->lifetime++;
        if (code >= SN_WALL && next != tail) {
            rewards[s] = -1.0f;
            terminals[s] = 1;
            snake_end_life(env, a, 1);
            any_dead = 1;
            continue;
        }
        grid[head] = (uint8_t)(SN_BODY | (d << SN_LINK_SHIFT));
        if (eat) {
            a->length++;
            env->food--;
            rewards[s] = 1.0f;
        } else {  // the tail leaves its cell (before the head may enter it)
            int link = grid[tail] >> SN_LINK_SHIFT;
            grid[tail] = SN_EMPTY;
            a->tail_row = (int16_t)(a->tail_row + snake_drow[link]);
            a->tail_col = (int16_t)(a->tail_col + snake_dcol[link]);
        }
        grid[next] = SN_HEAD;
        a->head_row = (int16_t)(a->head_row + snake_drow[d]);
        a->head_col = (int16_t)(a->head_col + snake_dcol[d]);
        a->dir = (uint8_t)d;
        if (env->max_steps && a->lifetime >= env->max_steps) {
            truncations[s] = 1;
            snake_end_life(env, a, 0);
            any_dead = 1;
        }
    }
    if (env->horizon && ++env->arena_steps >= env->horizon) { snake_end_arena(env); return; }
    if (any_dead)
        for (int s = 0; s < n; s++)
            if (!env->snakes[s].alive) snake_spawn(env, &env->snakes[s]);
    if (env->food < env->food_target) snake_top_up_food(env);
    snake_write_all_obs(env);
}

static inline int snake_render_px(int width, int height) {
    int side = width > height ? width : height, px = 512 / side;
    return px < 3 ? 3 : (px > 10 ? 10 : px);
}

static void snake_render(const Snake* env, int lane, uint8_t* rgb) {
    (void)lane;
    const int px = snake_render_px(env->width, env->height), R = env->vision;
    const int w = env->width * px, h = env->height * px;
    const Color bg = {24, 24, 32}, food = {235, 70, 70};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, bg);
    for (int r = 0; r < env->height; r++)
        for (int c = 0; c < env->width; c++)
            if (env->grid[snake_index(env, r + R, c + R)] == SN_FOOD)
                sf_fill_rect(rgb, w, h, c * px + 1, r * px + 1, (c + 1) * px - 1, (r + 1) * px - 1, food);
    for (int s = 0; s < env->num_snakes; s++) {
        const SnakeAgent* a = &env->snakes[s];
        if (!a->alive) continue;
        uint32_t hash = (uint32_t)s * 2654435761u;  // green-blue shades, never food's red
        Color body = {(uint8_t)(40 + (hash >> 8) % 100), (uint8_t)(120 + (hash >> 16) % 130),
                      (uint8_t)(120 + (hash >> 24) % 130)};
        if (env->render_teams) {  // two sides: blue below the index, orange from it
            const Color team = s < env->render_teams ? (Color){70, 130, 255} : (Color){255, 160, 40};
            body = team;
        }
        int r = a->tail_row, c = a->tail_col;
        for (int k = 0; k < a->length; k++) {
            int x = (c - R) * px, y = (r - R) * px;
            sf_fill_rect(rgb, w, h, x, y, x + px, y + px, body);
            int link = (env->grid[snake_index(env, r, c)] >> SN_LINK_SHIFT) & 3;
            r += snake_drow[link];
            c += snake_dcol[link];
        }
        const Color head = {255, 255, 255};
        int x = (a->head_col - R) * px, y = (a->head_row - R) * px;
        sf_fill_rect(rgb, w, h, x + px / 4, y + px / 4, x + px - px / 4, y + px - px / 4, head);
    }
}

static void snake_layout(const double* cfg, EnvLayout* out) {
    int side = 2 * (int)cfg[SNAKE_VISION] + 1;
    out->obs_type = SF_OBS_U8;
    out->obs_ndim = 2; out->obs_shape[0] = side; out->obs_shape[1] = side;
    out->obs_low = 0; out->obs_high = SN_OWN;
    out->act_type = SF_ACT_DISCRETE; out->act_dims = 1; out->act_n[0] = 4;
    out->agents_per_env = (int)cfg[SNAKE_SNAKES];
    int px = snake_render_px((int)cfg[SNAKE_WIDTH], (int)cfg[SNAKE_HEIGHT]);
    out->render_height = (int)cfg[SNAKE_HEIGHT] * px;
    out->render_width = (int)cfg[SNAKE_WIDTH] * px;
}

static const char* snake_check_config(const double* cfg) {
    if (cfg[SNAKE_SNAKES] + cfg[SNAKE_FOOD] > cfg[SNAKE_WIDTH] * cfg[SNAKE_HEIGHT] / 2)
        return "snakes: snakes + food must fit in half the arena (width * height / 2); "
               "use fewer snakes or food, or a larger width/height";
    return NULL;
}

// State of one arena for tests and tools. `select` picks the snake the snake fields describe.
// Writing is by command: `clear` = 1 empties the arena (every snake off the map until the next
// step respawns it, no food); `place` = 1 removes the selected snake and, if `alive`, lays it
// down with its head at (head_row, head_col) in arena coordinates, its body straight behind the
// head (opposite to `direction`) for `length` cells, cut short at the first cell that is not
// empty or food, and the given `lifetime`; food_row/food_col >= 0 put food on that cell if it
// is empty. `food` (the count on the map) is read-only. Fields not given keep the values
// get_state reads for the snake selected before the call: select a snake in its own call, or
// give every snake field. Order: clear, select, place, food. arena_steps: the steps the arena has
// run, counted only with horizon > 0 (it ends on the step that brings the count to horizon).
static const char* const snake_state_fields[] = {
    "select", "clear", "place", "head_row", "head_col", "direction", "length", "alive", "lifetime",
    "food_row", "food_col", "food", "arena_steps"};
enum { SNS_SELECT, SNS_CLEAR, SNS_PLACE, SNS_HEAD_ROW, SNS_HEAD_COL, SNS_DIRECTION, SNS_LENGTH, SNS_ALIVE,
       SNS_LIFETIME, SNS_FOOD_ROW, SNS_FOOD_COL, SNS_FOOD, SNS_ARENA_STEPS, SNS_NUM_FIELDS };

static void snake_get_state(const Snake* env, int lane, double* out) {
    (void)lane;
    const SnakeAgent* a = &env->snakes[env->selected];
    out[SNS_SELECT] = env->selected;
    out[SNS_CLEAR] = 0;
    out[SNS_PLACE] = 0;
    out[SNS_HEAD_ROW] = a->head_row - env->vision;
    out[SNS_HEAD_COL] = a->head_col - env->vision;
    out[SNS_DIRECTION] = a->dir;
    out[SNS_LENGTH] = a->length;
    out[SNS_ALIVE] = a->alive;
    out[SNS_LIFETIME] = a->lifetime;
    out[SNS_FOOD_ROW] = -1;
    out[SNS_FOOD_COL] = -1;
    out[SNS_FOOD] = env->food;
    out[SNS_ARENA_STEPS] = env->arena_steps;
}

static inline int snake_clampi(double v, int lo, int hi) {
    return !(v >= lo) ? lo : (v > hi ? hi : (int)v);  // NaN -> lo
}

static void snake_set_state(Snake* env, int lane, const double* in) {
    (void)lane;
    const int R = env->vision;
    if (in[SNS_CLEAR] != 0) snake_clear(env);
    env->selected = snake_clampi(in[SNS_SELECT], 0, env->num_snakes - 1);
    if (in[SNS_PLACE] != 0) {
        SnakeAgent* a = &env->snakes[env->selected];
        snake_remove(env, a);
        int r = snake_clampi(in[SNS_HEAD_ROW], 0, env->height - 1) + R;
        int c = snake_clampi(in[SNS_HEAD_COL], 0, env->width - 1) + R;
        int d = snake_clampi(in[SNS_DIRECTION], 0, 3);
        int want = snake_clampi(in[SNS_LENGTH], 1, env->width * env->height);
        unsigned code = env->grid[snake_index(env, r, c)];
        if (in[SNS_ALIVE] != 0 && code <= SN_FOOD) {
            a->head_row = (int16_t)r; a->head_col = (int16_t)c;
            a->dir = (uint8_t)d;
            a->lifetime = snake_clampi(in[SNS_LIFETIME], 0, 2000000000);
            a->alive = 1;
            int length = 0;
            for (int k = 0; k < want; k++) {
                int i = snake_index(env, r - k * snake_drow[d], c - k * snake_dcol[d]);
                if (env->grid[i] > SN_FOOD) break;
                if (env->grid[i] == SN_FOOD) env->food--;
                env->grid[i] = k == 0 ? SN_HEAD : (uint8_t)(SN_BODY | (d << SN_LINK_SHIFT));
                a->tail_row = (int16_t)(r - k * snake_drow[d]);
                a->tail_col = (int16_t)(c - k * snake_dcol[d]);
                length++;
            }
            a->length = length;
        }
    }
    if (in[SNS_FOOD_ROW] >= 0 && in[SNS_FOOD_COL] >= 0) {
        int i = snake_index(env, snake_clampi(in[SNS_FOOD_ROW], 0, env->height - 1) + R,
                            snake_clampi(in[SNS_FOOD_COL], 0, env->width - 1) + R);
        if (env->grid[i] == SN_EMPTY) { env->grid[i] = SN_FOOD; env->food++; }
    }
    env->arena_steps = snake_clampi(in[SNS_ARENA_STEPS], 0, env->horizon ? env->horizon - 1 : 2000000000);
    snake_write_all_obs(env);
}

SF_DEFINE_UNIT_FUNCS(snake, Snake)

static const EnvDesc snake_desc = {
    .name = "snake",
    .doc = "many snakes in one arena eat food and avoid walls and each other (one agent per snake; arenas of "
           "horizon steps)",
    .unit_size = sizeof(Snake), .lanes = 1,
    .params = snake_params, .num_params = SNAKE_NUM_PARAMS,
    .layout = snake_layout, .check_config = snake_check_config,
    .init = snake_init_unit, .reset = snake_reset_unit, .step_units = snake_step_units,
    .render = snake_render_unit,
    .state_fields = snake_state_fields, .num_state_fields = SNS_NUM_FIELDS,
    .get_state = snake_get_state_unit, .set_state = snake_set_state_unit,
};

#endif
