// breakout: a paddle, a ball and a wall of 6 x 18 bricks. Two descriptors share these rules:
// `breakout` (vector observation) and `breakout_pixels` (a grayscale frame).
//
// Geometry, in field units (y grows downwards): the field is BO_W x BO_H with walls left, right
// and top. Brick (row, col) covers x in [8 col, 8 col + 8), y in [24 + 6 row, 30 + 6 row); row 0
// is the top. The ball is a square of half-size BO_BALL_R around (ball_x, ball_y); the paddle's
// top is at y = BO_PADDLE_Y, centred on paddle_x, paddle_width wide.
// One tick, in this order:
//   1. the paddle moves by BO_PADDLE_SPEED (action 1 left, 2 right), kept inside the field;
//   2. the ball moves along x, reflecting off the side walls; if it then overlaps bricks, each
//      overlapped brick breaks, the ball stays at its old x and vx flips. Then the same along y
//      (top wall, bricks, vy flips). Bricks pay by row, top to bottom 7, 7, 4, 4, 1, 1 points;
//   3. a ball moving down whose bottom crosses the paddle's top within paddle_width / 2 + BO_BALL_R
//      of its centre is returned: it sits on the paddle and leaves at angle = offset * 60 degrees
//      from straight up, towards the side it hit, offset = (ball_x - paddle_x) / (paddle_width / 2
//      + BO_BALL_R) in [-1, 1], at the current speed: vx = speed sin(angle), vy = -speed cos(angle);
//   4. a ball whose centre passes the bottom (ball_y > BO_H) costs a life; the last life ends the
//      episode (terminal). Otherwise the ball is served: from (uniform in [36, 108], 80), moving
//      down at up to 45 degrees either side of vertical, at the current speed.
// Speed: BO_SPEED0 + BO_SPEED_STEP * level, level = (paddle hits >= 4) + (hits >= 12) + (an
// orange brick, rows 2-3, was ever hit) + (a red one, rows 0-1, was): the classic four speed-ups.
// Clearing the wall rebuilds it and serves the ball; clearing it twice ends the game: that is a
// terminal (no reward is left to earn), not a truncation. Episodes longer than max_steps are
// truncated. frameskip ticks make one step (the same action each tick).
//
// Reward: brick points / 7 (a red brick pays 1). Score: the game's points in the episode (432 a
// wall). Extra stat: walls_cleared per episode.
// Observation, breakout: float32 [paddle_x / W, ball_x / W, ball_y / H, ball_vx / vmax,
//   ball_vy / vmax, lives / lives_at_start, 108 bricks (1 alive, 0 gone) row by row from the top],
//   vmax the top speed. Only changed brick entries are written each step.
// Observation, breakout_pixels: uint8 [1, 48, 48] (channel, row, column), the field at 1/3 scale:
//   background 0, bricks 190 (top row) down to 90 in steps of 20, paddle 220, ball 255. Drawn
//   incrementally: the ball's old pixels, the paddle's row and broken bricks are repainted each step.
// Actions: Discrete(3): 0 stay, 1 left, 2 right.
#ifndef SAILFISH_BREAKOUT_H
#define SAILFISH_BREAKOUT_H
#include "../core.h"

#define BO_ROWS 6
#define BO_COLS 18
#define BO_BRICKS (BO_ROWS * BO_COLS)
#define BO_BRICK_W 8.0f
#define BO_BRICK_H 6.0f
#define BO_BRICK_TOP 24.0f
#define BO_BRICK_BOTTOM (BO_BRICK_TOP + BO_ROWS * BO_BRICK_H)
#define BO_W 144.0f
#define BO_H 144.0f
#define BO_BALL_R 1.5f
#define BO_PADDLE_Y 132.0f
#define BO_PADDLE_THICK 3.0f
#define BO_PADDLE_SPEED 4.0f
#define BO_SPEED0 2.0f
#define BO_SPEED_STEP 0.4f
#define BO_MAX_SPEED (BO_SPEED0 + 4 * BO_SPEED_STEP)
#define BO_MAX_ANGLE 1.04719755f  // 60 degrees
#define BO_SERVE_Y 80.0f
#define BO_OBS_HEAD 6
#define BO_PX 48  // side of the pixel observation; one pixel is 3 field units
#define BO_PX_SCALE (1.0f / 3.0f)
#define BO_PX_BRICK_TOP 8  // BO_BRICK_TOP / 3
#define BO_PX_PADDLE_ROW 44  // BO_PADDLE_Y / 3: the paddle is one pixel row

enum { BREAKOUT_MAX_STEPS, BREAKOUT_LIVES, BREAKOUT_PADDLE_WIDTH, BREAKOUT_FRAMESKIP, BREAKOUT_NUM_PARAMS };
static const ParamDesc breakout_params[] = {
    {"max_steps", 27000, 1, 1e8, 1, "steps after which an episode is truncated"},
    {"lives", 5, 1, 9, 1, "balls lost before the game ends"},
    {"paddle_width", 24, 8, 72, 1, "paddle width in field units (the field is 144 wide)"},
    {"frameskip", 1, 1, 8, 1, "physics ticks per step, the action repeated"},
};

static const char* const breakout_extra_stats[] = {"walls_cleared"};
static const int breakout_row_points[BO_ROWS] = {7, 7, 4, 4, 1, 1};
static const uint8_t breakout_row_gray[BO_ROWS] = {190, 170, 150, 130, 110, 90};

typedef struct {
    EnvCore core;
    int max_steps, start_lives, frameskip, pixels;
    float paddle_half, inv_reach;  // paddle_width / 2, 1 / (paddle_width / 2 + BO_BALL_R)
    float paddle_x, ball_x, ball_y, ball_vx, ball_vy;
    int lives, points, hits, reached_orange, reached_red, walls_cleared, steps, bricks_left;
    int redraw;  // pixels: the whole frame must be drawn at the end of the step
    uint8_t alive[BO_ROWS][BO_COLS];
} Breakout;

// Compares, not fminf/fmaxf (library calls where NaN semantics must be kept); NaN gives lo.
static inline float bo_clampf(float v, float lo, float hi) { v = v >= lo ? v : lo; return v > hi ? hi : v; }

static inline float bo_speed(const Breakout* env) {
    int level = (env->hits >= 4) + (env->hits >= 12) + env->reached_orange + env->reached_red;
    return BO_SPEED0 + BO_SPEED_STEP * (float)level;
}

// ---------------------------------------------------------------- the pixel frame
// Background of pixel (px, py): a brick's gray or 0. Paddle and ball are drawn over it.
static inline uint8_t bo_px_background(const Breakout* env, int px, int py) {
    int band = py - BO_PX_BRICK_TOP;  // brick rows are 2 pixels high
    if ((unsigned)band >= 2 * BO_ROWS) return 0;
    int row = band >> 1, col = (3 * px + 1) >> 3;  // the brick under the pixel's centre
    return env->alive[row][col] ? breakout_row_gray[row] : 0;
}

static inline void bo_px_restore(Breakout* env, int px0, int py0, int px1, int py1) {
    uint8_t* frame = (uint8_t*)env->core.obs;
    for (int py = py0; py <= py1; py++)
        for (int px = px0; px <= px1; px++) frame[py * BO_PX + px] = bo_px_background(env, px, py);
}

static inline int bo_px_clamp(float v) {
    int p = (int)(v * BO_PX_SCALE);
    return p < 0 ? 0 : (p > BO_PX - 1 ? BO_PX - 1 : p);
}

// The ball covers at most 2 x 2 pixels: corners (px0, py0) and (px1, py1), written one by one
// (tiny variable-length loops become memset calls, which cost more than the work).
static inline void bo_px_ball(Breakout* env, int erase) {
    uint8_t* frame = (uint8_t*)env->core.obs;
    int px0 = bo_px_clamp(env->ball_x - BO_BALL_R), px1 = bo_px_clamp(env->ball_x + BO_BALL_R);
    int py0 = bo_px_clamp(env->ball_y - BO_BALL_R), py1 = bo_px_clamp(env->ball_y + BO_BALL_R);
    frame[py0 * BO_PX + px0] = erase ? bo_px_background(env, px0, py0) : 255;
    frame[py0 * BO_PX + px1] = erase ? bo_px_background(env, px1, py0) : 255;
    frame[py1 * BO_PX + px0] = erase ? bo_px_background(env, px0, py1) : 255;
    frame[py1 * BO_PX + px1] = erase ? bo_px_background(env, px1, py1) : 255;
}

// The paddle's row holds nothing else: it is rewritten whole, a fixed-length loop that vectorizes.
static inline void bo_px_paddle_row(Breakout* env) {
    uint8_t* row = (uint8_t*)env->core.obs + BO_PX_PADDLE_ROW * BO_PX;
    int px0 = bo_px_clamp(env->paddle_x - env->paddle_half), px1 = bo_px_clamp(env->paddle_x + env->paddle_half);
    for (int px = 0; px < BO_PX; px++) row[px] = (uint8_t)((px >= px0) & (px <= px1) ? 220 : 0);
}

static inline void bo_px_draw_all(Breakout* env) {
    memset(env->core.obs, 0, BO_PX * BO_PX);
    bo_px_restore(env, 0, BO_PX_BRICK_TOP, BO_PX - 1, BO_PX_BRICK_TOP + 2 * BO_ROWS - 1);
    bo_px_paddle_row(env);
    bo_px_ball(env, 0);
}

// ---------------------------------------------------------------- the vector observation
static inline void bo_write_head(Breakout* env) {
    float* o = (float*)env->core.obs;
    o[0] = env->paddle_x * (1.0f / BO_W);
    o[1] = env->ball_x * (1.0f / BO_W);
    o[2] = env->ball_y * (1.0f / BO_H);
    o[3] = env->ball_vx * (1.0f / BO_MAX_SPEED);
    o[4] = env->ball_vy * (1.0f / BO_MAX_SPEED);
    o[5] = (float)env->lives / (float)env->start_lives;
}

static inline void bo_write_obs_all(Breakout* env) {
    if (env->pixels) { bo_px_draw_all(env); return; }
    bo_write_head(env);
    float* bricks = (float*)env->core.obs + BO_OBS_HEAD;
    for (int i = 0; i < BO_BRICKS; i++) bricks[i] = (float)(&env->alive[0][0])[i];
}

// ---------------------------------------------------------------- rules
static inline void bo_serve(Breakout* env) {
    Rng* rng = &env->core.rng;
    float angle = sf_rng_range(rng, -0.78539816f, 0.78539816f), speed = bo_speed(env);
    env->ball_x = sf_rng_range(rng, 36.0f, 108.0f);
    env->ball_y = BO_SERVE_Y;
    env->ball_vx = speed * sinf(angle);
    env->ball_vy = speed * cosf(angle);
}

static inline void bo_build_wall(Breakout* env) {
    memset(env->alive, 1, sizeof(env->alive));
    env->bricks_left = BO_BRICKS;
}

static inline void bo_new_episode(Breakout* env) {
    bo_build_wall(env);
    env->paddle_x = 0.5f * BO_W;
    env->lives = env->start_lives;
    env->points = env->hits = env->reached_orange = env->reached_red = env->walls_cleared = env->steps = 0;
    bo_serve(env);
    env->redraw = 1;
}

// Breaks every live brick the ball's box overlaps at (x, y); returns how many.
static inline int bo_hit_bricks(Breakout* env, float x, float y) {
    if (y + BO_BALL_R <= BO_BRICK_TOP || y - BO_BALL_R >= BO_BRICK_BOTTOM) return 0;
    const float inv_w = 1.0f / BO_BRICK_W, inv_h = 1.0f / BO_BRICK_H;
    float top = (y - BO_BALL_R - BO_BRICK_TOP) * inv_h, bottom = (y + BO_BALL_R - BO_BRICK_TOP) * inv_h;
    float left = (x - BO_BALL_R) * inv_w, right = (x + BO_BALL_R) * inv_w;
    // The box is half-open: an edge exactly on a cell boundary does not enter the next cell.
    int r0 = top < 0.0f ? 0 : (int)top, r1 = (int)bottom - ((float)(int)bottom == bottom);
    int c0 = left < 0.0f ? 0 : (int)left, c1 = (int)right - ((float)(int)right == right);
    if (r1 > BO_ROWS - 1) r1 = BO_ROWS - 1;
    if (c1 > BO_COLS - 1) c1 = BO_COLS - 1;
    int broken = 0;
    for (int r = r0; r <= r1; r++) {
        for (int c = c0; c <= c1; c++) {
            if (!env->alive[r][c]) continue;
            env->alive[r][c] = 0;
            env->bricks_left--;
            env->points += breakout_row_points[r];
            broken++;
            float old_speed = bo_speed(env);
            env->reached_orange |= (r == 2) | (r == 3);
            env->reached_red |= r < 2;
            float speed = bo_speed(env);
            if (speed != old_speed) { env->ball_vx *= speed / old_speed; env->ball_vy *= speed / old_speed; }
            if (env->pixels) {  // repaint a box around the brick (the ball is erased by now)
                int py = BO_PX_BRICK_TOP + 2 * r, px1 = (8 * c + 8) / 3;
                bo_px_restore(env, 8 * c / 3, py, px1 < BO_PX ? px1 : BO_PX - 1, py + 1);
            } else {
                ((float*)env->core.obs)[BO_OBS_HEAD + r * BO_COLS + c] = 0.0f;
            }
        }
    }
    return broken;
}

static inline void bo_paddle_return(Breakout* env) {
    env->hits++;
    float offset = bo_clampf((env->ball_x - env->paddle_x) * env->inv_reach, -1.0f, 1.0f);
    float angle = offset * BO_MAX_ANGLE, speed = bo_speed(env);
    env->ball_y = BO_PADDLE_Y - BO_BALL_R;
    env->ball_vx = speed * sinf(angle);
    env->ball_vy = -speed * cosf(angle);
}

// One tick; returns 1 when the game ended by the rules (last life lost or second wall cleared).
static inline int bo_tick(Breakout* env, float paddle_dx) {
    env->paddle_x = bo_clampf(env->paddle_x + paddle_dx, env->paddle_half, BO_W - env->paddle_half);
    float x = env->ball_x + env->ball_vx;
    if (x < BO_BALL_R) { x = 2.0f * BO_BALL_R - x; env->ball_vx = -env->ball_vx; }
    if (x > BO_W - BO_BALL_R) { x = 2.0f * (BO_W - BO_BALL_R) - x; env->ball_vx = -env->ball_vx; }
    if (bo_hit_bricks(env, x, env->ball_y)) { x = env->ball_x; env->ball_vx = -env->ball_vx; }
    env->ball_x = x;
    float y = env->ball_y + env->ball_vy;
    if (y < BO_BALL_R) { y = 2.0f * BO_BALL_R - y; env->ball_vy = -env->ball_vy; }
    if (bo_hit_bricks(env, x, y)) { y = env->ball_y; env->ball_vy = -env->ball_vy; }
    const int crossed = (env->ball_y + BO_BALL_R <= BO_PADDLE_Y) & (y + BO_BALL_R > BO_PADDLE_Y);
    env->ball_y = y;
    if (crossed && fabsf(x - env->paddle_x) * env->inv_reach <= 1.0f) bo_paddle_return(env);
    if (__builtin_expect(env->bricks_left == 0, 0)) {
        if (++env->walls_cleared >= 2) return 1;
        bo_build_wall(env);
        bo_serve(env);
        if (env->pixels) env->redraw = 1;
        else bo_write_obs_all(env);
    }
    if (__builtin_expect(env->ball_y > BO_H, 0)) {
        if (--env->lives == 0) return 1;
        bo_serve(env);
    }
    return 0;
}

// ---------------------------------------------------------------- the ABI functions
static void breakout_init(Breakout* env, const double* cfg) {
    env->max_steps = (int)cfg[BREAKOUT_MAX_STEPS];
    env->start_lives = (int)cfg[BREAKOUT_LIVES];
    env->paddle_half = 0.5f * (float)cfg[BREAKOUT_PADDLE_WIDTH];
    env->inv_reach = 1.0f / (env->paddle_half + BO_BALL_R);
    env->frameskip = (int)cfg[BREAKOUT_FRAMESKIP];
    env->pixels = 0;
}

static void breakout_reset(Breakout* env) {
    bo_new_episode(env);
    bo_write_obs_all(env);
    env->redraw = 0;
}

static inline void breakout_step_impl(Breakout* env, const int pixels) {
    static const float dx[3] = {0.0f, -BO_PADDLE_SPEED, BO_PADDLE_SPEED};
    const float paddle_dx = dx[*(const int32_t*)env->core.actions];
    const int points_before = env->points;
    if (pixels) bo_px_ball(env, 1);
    int terminal = bo_tick(env, paddle_dx);
    for (int t = 1; t < env->frameskip && !terminal; t++) terminal = bo_tick(env, paddle_dx);
    env->steps++;
    *env->core.rewards = (float)(env->points - points_before) * (1.0f / 7.0f);
    const int truncated = !terminal & (env->steps >= env->max_steps);
    *env->core.terminals = (uint8_t)terminal;
    *env->core.truncations = (uint8_t)truncated;
    if (__builtin_expect(terminal | truncated, 0)) {
        EpisodeStats* s = &env->core.stats;
        sf_log_episode(s, (float)env->points * (1.0f / 7.0f), (float)env->steps, (float)env->points);
        s->extra[0] += env->walls_cleared;
        bo_new_episode(env);
        if (!pixels) bo_write_obs_all(env);
    }
    if (pixels) {
        if (env->redraw) { bo_px_draw_all(env); env->redraw = 0; }
        else { bo_px_paddle_row(env); bo_px_ball(env, 0); }
    } else {
        bo_write_head(env);
    }
}

static inline void breakout_step(Breakout* env) { breakout_step_impl(env, 0); }
static inline void breakout_pixels_step(Breakout* env) { breakout_step_impl(env, 1); }

#define BO_RENDER_SCALE 2
static void breakout_render(const Breakout* env, int lane, uint8_t* rgb) {
    (void)lane;
    const int s = BO_RENDER_SCALE, w = (int)BO_W * s, h = (int)BO_H * s;
    static const Color rows[BO_ROWS] = {{200, 72, 72}, {198, 108, 58}, {180, 122, 48},
                                        {162, 162, 42}, {72, 160, 72}, {66, 72, 200}};
    const Color bg = {12, 12, 20}, paddle = {200, 72, 72}, ball = {240, 240, 240}, life = {120, 200, 255},
                wall = {240, 200, 80};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, bg);
    for (int r = 0; r < BO_ROWS; r++) {
        for (int c = 0; c < BO_COLS; c++) {
            if (!env->alive[r][c]) continue;
            int x0 = (int)(BO_BRICK_W * (float)c) * s, y0 = (int)(BO_BRICK_TOP + BO_BRICK_H * (float)r) * s;
            sf_fill_rect(rgb, w, h, x0 + 1, y0 + 1, x0 + (int)BO_BRICK_W * s - 1, y0 + (int)BO_BRICK_H * s - 1, rows[r]);
        }
    }
    sf_fill_rect(rgb, w, h, (int)((env->paddle_x - env->paddle_half) * s), (int)BO_PADDLE_Y * s,
                 (int)((env->paddle_x + env->paddle_half) * s), (int)(BO_PADDLE_Y + BO_PADDLE_THICK) * s, paddle);
    sf_fill_rect(rgb, w, h, (int)((env->ball_x - BO_BALL_R) * s), (int)((env->ball_y - BO_BALL_R) * s),
                 (int)((env->ball_x + BO_BALL_R) * s), (int)((env->ball_y + BO_BALL_R) * s), ball);
    // Lives left as pips at the top left, walls cleared at the top right.
    for (int i = 0; i < env->lives; i++) sf_fill_rect(rgb, w, h, 8 + 14 * i, 12, 18 + 14 * i, 22, life);
    for (int i = 0; i < env->walls_cleared; i++) sf_fill_rect(rgb, w, h, w - 18 - 14 * i, 12, w - 8 - 14 * i, 22, wall);
}

static void breakout_layout(const double* cfg, EnvLayout* out) {
    (void)cfg;
    out->obs_type = SF_OBS_F32;
    out->obs_ndim = 1; out->obs_shape[0] = BO_OBS_HEAD + BO_BRICKS;
    out->obs_low = -1; out->obs_high = 1;
    out->act_type = SF_ACT_DISCRETE; out->act_dims = 1; out->act_n[0] = 3;
    out->agents_per_env = 1;
    out->render_height = out->render_width = (int)BO_W * BO_RENDER_SCALE;
}

static void breakout_pixels_layout(const double* cfg, EnvLayout* out) {
    breakout_layout(cfg, out);
    out->obs_type = SF_OBS_U8;
    out->obs_ndim = 3; out->obs_shape[0] = 1; out->obs_shape[1] = BO_PX; out->obs_shape[2] = BO_PX;
    out->obs_low = 0; out->obs_high = 255;
}

// Brick rows are read and written as 18-bit masks, bit c = column c alive.
static const char* const breakout_state_fields[] = {
    "paddle_x", "ball_x", "ball_y", "ball_vx", "ball_vy", "lives", "points", "hits",
    "reached_orange", "reached_red", "walls_cleared", "steps",
    "bricks_row0", "bricks_row1", "bricks_row2", "bricks_row3", "bricks_row4", "bricks_row5"};
#define BO_NUM_STATE_FIELDS 18

static void breakout_get_state(const Breakout* env, int lane, double* out) {
    (void)lane;
    out[0] = env->paddle_x; out[1] = env->ball_x; out[2] = env->ball_y;
    out[3] = env->ball_vx; out[4] = env->ball_vy; out[5] = env->lives; out[6] = env->points;
    out[7] = env->hits; out[8] = env->reached_orange; out[9] = env->reached_red;
    out[10] = env->walls_cleared; out[11] = env->steps;
    for (int r = 0; r < BO_ROWS; r++) {
        uint32_t mask = 0;
        for (int c = 0; c < BO_COLS; c++) mask |= (uint32_t)env->alive[r][c] << c;
        out[12 + r] = mask;
    }
}

static inline int bo_clampi(double v, int lo, int hi) { return !(v >= lo) ? lo : (v > hi ? hi : (int)v); }

static void breakout_set_state(Breakout* env, int lane, const double* in) {
    (void)lane;
    // Clamped to what the rules can reach, so the observation stays in its bounds.
    env->paddle_x = bo_clampf((float)in[0], env->paddle_half, BO_W - env->paddle_half);
    env->ball_x = bo_clampf((float)in[1], BO_BALL_R, BO_W - BO_BALL_R);
    env->ball_y = bo_clampf((float)in[2], BO_BALL_R, BO_H);
    env->ball_vx = bo_clampf((float)in[3], -BO_MAX_SPEED, BO_MAX_SPEED);
    env->ball_vy = bo_clampf((float)in[4], -BO_MAX_SPEED, BO_MAX_SPEED);
    env->lives = bo_clampi(in[5], 1, env->start_lives);
    env->points = bo_clampi(in[6], 0, 1 << 30);
    env->hits = bo_clampi(in[7], 0, 1 << 30);
    env->reached_orange = in[8] != 0;
    env->reached_red = in[9] != 0;
    env->walls_cleared = bo_clampi(in[10], 0, 1);
    env->steps = bo_clampi(in[11], 0, env->max_steps - 1);
    env->bricks_left = 0;
    for (int r = 0; r < BO_ROWS; r++) {
        uint32_t mask = (uint32_t)bo_clampi(in[12 + r], 0, (1 << BO_COLS) - 1);
        for (int c = 0; c < BO_COLS; c++) env->bricks_left += env->alive[r][c] = (uint8_t)((mask >> c) & 1u);
    }
    if (env->bricks_left == 0) bo_build_wall(env);  // an empty wall is never a state of the game
    bo_write_obs_all(env);
}

SF_DEFINE_UNIT_FUNCS(breakout, Breakout)

static void breakout_pixels_init_unit(void* u, const double* cfg) {
    breakout_init((Breakout*)u, cfg);
    ((Breakout*)u)->pixels = 1;
}

SF_HOT static void breakout_pixels_step_units(void* units, int count) {
    Breakout* envs = (Breakout*)units;
    for (int i = 0; i < count; i++) breakout_pixels_step(&envs[i]);
}

static const EnvDesc breakout_desc = {
    .name = "breakout",
    .doc = "paddle, ball and 6 x 18 bricks; classic scoring and speed-ups, 5 lives",
    .unit_size = sizeof(Breakout), .lanes = 1,
    .params = breakout_params, .num_params = BREAKOUT_NUM_PARAMS,
    .extra_stats = breakout_extra_stats, .num_extra_stats = 1,
    .layout = breakout_layout,
    .init = breakout_init_unit, .reset = breakout_reset_unit, .step_units = breakout_step_units,
    .render = breakout_render_unit,
    .state_fields = breakout_state_fields, .num_state_fields = BO_NUM_STATE_FIELDS,
    .get_state = breakout_get_state_unit, .set_state = breakout_set_state_unit,
};

static const EnvDesc breakout_pixels_desc = {
    .name = "breakout_pixels",
    .doc = "breakout's rules, observed as a 1 x 48 x 48 grayscale frame",
    .unit_size = sizeof(Breakout), .lanes = 1,
    .params = breakout_params, .num_params = BREAKOUT_NUM_PARAMS,
    .extra_stats = breakout_extra_stats, .num_extra_stats = 1,
    .layout = breakout_pixels_layout,
    .init = breakout_pixels_init_unit, .reset = breakout_reset_unit, .step_units = breakout_pixels_step_units,
    .render = breakout_render_unit,
    .state_fields = breakout_state_fields, .num_state_fields = BO_NUM_STATE_FIELDS,
    .get_state = breakout_get_state_unit, .set_state = breakout_set_state_unit,
};

#endif
