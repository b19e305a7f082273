// pong: two paddles and a ball. One agent (players = 1, the default): the agent's paddle (right)
// against a scripted opponent (left) that follows the ball with a capped speed, so steep returns
// beat it. Two agents (players = 2): both paddles are agent rows, for self-play. First to
// points_to_win points ends the episode.
//
// Geometry, in field units: x and y both span [-1, 1], y grows downwards (screen order). The
// ball is a point. Paddles are vertical segments of half-height PONG_PADDLE_HALF at
// x = +PONG_PADDLE_X (right: the agent, row 0) and x = -PONG_PADDLE_X (left: the opponent, or
// row 1), kept inside the field.
// One tick, in this order:
//   1. the right paddle moves by PONG_PADDLE_SPEED (up = -y); the left one, with players = 1, by
//      clamp(ball_y - opponent_y, -opponent_speed, +opponent_speed), with players = 2 by
//      PONG_PADDLE_SPEED for row 1's action;
//   2. the ball moves by (vx, vy); past y = +-1 it is reflected (y -> +-2 - y, vy -> -vy);
//   3. a ball that crossed a paddle's plane is returned if |ball_y - paddle_y| <= half-height:
//      x is reflected about the plane, |vx| grows by PONG_SPEEDUP (up to PONG_MAX_VX) and
//      vy = PONG_BOUNCE * offset * |vx| with offset = (ball_y - paddle_y) / half-height in
//      [-1, 1]: a hit at the paddle's centre leaves flat, one at its edge at atan(1.25) = 51
//      degrees, towards the side of the paddle it hit. Otherwise the other side scores a point
//      and the ball is served again.
// A serve starts from the centre towards the receiving side, |vx| = ball_speed, vy uniform in
// [-ball_speed, ball_speed]. With players = 1 the agent always receives (serving towards the
// opponent would hand random play points). With players = 2 the serve alternates: each goes to
// the side that did not receive the one before, and an episode's first serve to the side that did
// not receive the previous episode's first (row 0 after a reset). Alternating rather than serving
// to the loser keeps the two seats equal whatever the play: receiving is the harder side (the
// receiver must return the ball before the server can miss it), and each side receives every
// other serve, so a learner can keep one row and needs no seat swapping (with the mirrored
// observations below, the seats are mirror images of each other, bit for bit).
// frameskip ticks make one step (the same actions each tick; a step stops at a point).
//
// Observation: float32 [paddle_y, opponent_y, ball_x, ball_y, ball_vx / PONG_MAX_VX,
//   ball_vy / (PONG_BOUNCE * PONG_MAX_VX)], all in [-1, 1].
// Actions: Discrete(3): 0 stay, 1 up, 2 down.
// Reward: +1 when the opponent misses, -1 when the agent misses. Truncated after max_steps.
// Score: 1 if the agent won the episode, else 0 (the win rate). Extra stats: points of each side.
//
// Two agents (players = 2): each env owns two rows, row 0 the right paddle, row 1 the left; both
// act on every step (masks stay 1). Each row sees the field from its own side, x mirrored for row
// 1, so one policy can play either paddle: [own paddle y, other paddle y, ball x, ball y, vx, vy]
// (scaled as above), with ball x and vx negated in row 1's (its own paddle is at +PONG_PADDLE_X in
// its view, and a ball coming at it has vx > 0). Rewards are zero-sum, from each row's side: +1 to
// the row whose opponent missed, -1 to the row that missed. Both rows end together (terminal at
// the winning point, truncated at max_steps). Score: row 0's win rate; return, agent_points:
// row 0's, opponent_points: row 1's. opponent_speed is unused (check_config refuses setting it).
#ifndef SAILFISH_PONG_H
#define SAILFISH_PONG_H
#include "../core.h"

#define PONG_PADDLE_X 0.95f
#define PONG_PADDLE_HALF 0.15f
#define PONG_INV_PADDLE_HALF (1.0f / PONG_PADDLE_HALF)
#define PONG_PADDLE_SPEED 0.05f
#define PONG_BOUNCE 1.25f
#define PONG_SPEEDUP 1.05f
#define PONG_MAX_VX 0.08f

enum { PONG_POINTS_TO_WIN, PONG_MAX_STEPS, PONG_FRAMESKIP, PONG_OPPONENT_SPEED, PONG_BALL_SPEED, PONG_PLAYERS,
       PONG_NUM_PARAMS };
static const ParamDesc pong_params[] = {
    {"points_to_win", 5, 1, 21, 1, "points that win the episode (for either side)"},
    {"max_steps", 5000, 1, 1e8, 1, "steps after which an episode is truncated"},
    {"frameskip", 1, 1, 8, 1, "physics ticks per step, the action repeated"},
    {"opponent_speed", 0.03, 0.0, 0.2, 0, "the scripted opponent's top paddle speed per tick"},
    {"ball_speed", 0.04, 0.01, 0.08, 0, "|vx| (and the bound on |vy|) of a served ball per tick"},
    {"players", 1, 1, 2, 1, "1 = the agent vs the scripted opponent; 2 = both paddles are agent rows (self-play)"},
};

static const char* const pong_extra_stats[] = {"agent_points", "opponent_points"};

typedef struct {
    EnvCore core;
    int points_to_win, max_steps, frameskip, players;
    float opponent_speed, ball_speed;
    float paddle_y, opponent_y, ball_x, ball_y, ball_vx, ball_vy;  // paddle_y: the right paddle, row 0
    int agent_points, opponent_points, steps;  // points of the right (row 0) and the left side
    int receiver;        // the side the current ball was served to: 0 right, 1 left (always 0 if players = 1)
    int first_receiver;  // the side this episode's first serve went to
} Pong;

static inline void pong_write_obs(Pong* env) {
    float* o = (float*)env->core.obs;
    o[0] = env->paddle_y;
    o[1] = env->opponent_y;
    o[2] = env->ball_x;
    o[3] = env->ball_y;
    o[4] = env->ball_vx * (1.0f / PONG_MAX_VX);
    o[5] = env->ball_vy * (1.0f / (PONG_BOUNCE * PONG_MAX_VX));
    if (env->players == 2) {  // row 1: the same field seen from the left, x mirrored
        o[6] = o[1];
        o[7] = o[0];
        o[8] = -o[2];
        o[9] = o[3];
        o[10] = -o[4];
        o[11] = o[5];
    }
}

// A serve to `side` (0 right, 1 left).
static inline void pong_serve(Pong* env, int side) {
    Rng* rng = &env->core.rng;
    env->receiver = side;
    env->ball_x = 0.0f;
    env->ball_y = 0.0f;
    env->ball_vx = side ? -env->ball_speed : env->ball_speed;
    env->ball_vy = env->ball_speed * (2.0f * sf_rng_uniform(rng) - 1.0f);
}

static inline void pong_new_episode(Pong* env, int first_receiver) {
    env->paddle_y = env->opponent_y = 0.0f;
    env->agent_points = env->opponent_points = env->steps = 0;
    env->first_receiver = first_receiver;
    pong_serve(env, first_receiver);
    pong_write_obs(env);
}

static void pong_init(Pong* env, const double* cfg) {
    env->points_to_win = (int)cfg[PONG_POINTS_TO_WIN];
    env->max_steps = (int)cfg[PONG_MAX_STEPS];
    env->frameskip = (int)cfg[PONG_FRAMESKIP];
    env->opponent_speed = (float)cfg[PONG_OPPONENT_SPEED];
    env->ball_speed = (float)cfg[PONG_BALL_SPEED];
    env->players = (int)cfg[PONG_PLAYERS];
}

static void pong_reset(Pong* env) { pong_new_episode(env, 0); }

// Compares, not fminf/fmaxf (library calls where NaN semantics must be kept); NaN gives lo.
static inline float pong_clampf(float v, float lo, float hi) { v = v >= lo ? v : lo; return v > hi ? hi : v; }

// The paddle bounce (the documented angle rule), after the ball crossed a paddle's plane.
static inline void pong_return(Pong* env, float plane, float paddle_y) {
    float speed = pong_clampf(fabsf(env->ball_vx) * PONG_SPEEDUP, 0.0f, PONG_MAX_VX);
    float offset = pong_clampf((env->ball_y - paddle_y) * PONG_INV_PADDLE_HALF, -1.0f, 1.0f);
    env->ball_x = 2.0f * plane - env->ball_x;
    env->ball_vx = plane > 0.0f ? -speed : speed;
    env->ball_vy = PONG_BOUNCE * offset * speed;
}

// One tick with the right paddle moved by right_dy and the left one by left_dy (players = 2) or
// its chase (players = 1); returns +1 when the right side scored, -1 when the left side did, else 0.
static inline int pong_tick(Pong* env, float right_dy, float left_dy) {
    const float lim = 1.0f - PONG_PADDLE_HALF;
    env->paddle_y = pong_clampf(env->paddle_y + right_dy, -lim, lim);
    if (env->players == 1)
        left_dy = pong_clampf(env->ball_y - env->opponent_y, -env->opponent_speed, env->opponent_speed);
    env->opponent_y = pong_clampf(env->opponent_y + left_dy, -lim, lim);
    float x = env->ball_x + env->ball_vx, y = env->ball_y + env->ball_vy;
    env->ball_x = x;
    if (y > 1.0f) { y = 2.0f - y; env->ball_vy = -env->ball_vy; }
    if (y < -1.0f) { y = -2.0f - y; env->ball_vy = -env->ball_vy; }
    env->ball_y = y;
    if (x >= PONG_PADDLE_X) {
        if (fabsf(y - env->paddle_y) <= PONG_PADDLE_HALF) { pong_return(env, PONG_PADDLE_X, env->paddle_y); return 0; }
        pong_serve(env, env->players == 2 ? 1 - env->receiver : 0);
        return -1;
    }
    if (x <= -PONG_PADDLE_X) {
        if (fabsf(y - env->opponent_y) <= PONG_PADDLE_HALF) { pong_return(env, -PONG_PADDLE_X, env->opponent_y); return 0; }
        pong_serve(env, env->players == 2 ? 1 - env->receiver : 0);
        return 1;
    }
    return 0;
}

static inline void pong_step(Pong* env) {
    static const float dy[3] = {0.0f, -PONG_PADDLE_SPEED, PONG_PADDLE_SPEED};
    const int32_t* actions = (const int32_t*)env->core.actions;
    const int two = env->players == 2;
    const float right_dy = dy[actions[0]], left_dy = two ? dy[actions[1]] : 0.0f;
    int point = pong_tick(env, right_dy, left_dy);
    for (int t = 1; t < env->frameskip && point == 0; t++) point = pong_tick(env, right_dy, left_dy);
    env->steps++;
    if (__builtin_expect(point != 0, 0)) {
        env->agent_points += point > 0;
        env->opponent_points += point < 0;
    }
    const int won = env->agent_points >= env->points_to_win;
    const int terminal = won | (env->opponent_points >= env->points_to_win);
    const int truncated = !terminal & (env->steps >= env->max_steps);
    for (int row = 0; row <= two; row++) {  // row 1 (the left paddle) gets the mirror image
        env->core.rewards[row] = (float)(row ? -point : point);
        env->core.terminals[row] = (uint8_t)terminal;
        env->core.truncations[row] = (uint8_t)truncated;
    }
    if (__builtin_expect(terminal | truncated, 0)) {
        EpisodeStats* s = &env->core.stats;
        sf_log_episode(s, (float)(env->agent_points - env->opponent_points), (float)env->steps, (float)won);
        s->extra[0] += env->agent_points;
        s->extra[1] += env->opponent_points;
        pong_new_episode(env, two ? 1 - env->first_receiver : 0);
        return;
    }
    pong_write_obs(env);
}

#define PONG_RENDER_SIZE 192
static void pong_render(const Pong* env, int lane, uint8_t* rgb) {
    (void)lane;
    const int w = PONG_RENDER_SIZE, h = PONG_RENDER_SIZE;
    const float half = 0.5f * (float)w;  // pixels per field unit
    const Color bg = {16, 20, 32}, net = {60, 66, 84}, agent = {90, 200, 255}, opponent = {255, 120, 90},
                ball = {250, 250, 250};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, bg);
    for (int y = 0; y < h; y += 12) sf_fill_rect(rgb, w, h, w / 2 - 1, y, w / 2 + 1, y + 6, net);
    int ph = (int)(PONG_PADDLE_HALF * half);
    int ax = (int)((1.0f + PONG_PADDLE_X) * half), ay = (int)((1.0f + env->paddle_y) * half);
    int ox = (int)((1.0f - PONG_PADDLE_X) * half), oy = (int)((1.0f + env->opponent_y) * half);
    sf_fill_rect(rgb, w, h, ax, ay - ph, ax + 5, ay + ph, agent);
    sf_fill_rect(rgb, w, h, ox - 5, oy - ph, ox, oy + ph, opponent);
    int bx = (int)((1.0f + env->ball_x) * half), by = (int)((1.0f + env->ball_y) * half);
    sf_fill_rect(rgb, w, h, bx - 3, by - 3, bx + 3, by + 3, ball);
    // Points as pips along the top: the opponent's from the left edge, the agent's from the right.
    for (int p = 0; p < env->opponent_points && p < 21; p++)
        sf_fill_rect(rgb, w, h, 6 + 8 * p, 4, 11 + 8 * p, 9, opponent);
    for (int p = 0; p < env->agent_points && p < 21; p++)
        sf_fill_rect(rgb, w, h, w - 11 - 8 * p, 4, w - 6 - 8 * p, 9, agent);
}

static void pong_layout(const double* cfg, EnvLayout* out) {
    out->obs_type = SF_OBS_F32;
    out->obs_ndim = 1; out->obs_shape[0] = 6;
    out->obs_low = -1; out->obs_high = 1;
    out->act_type = SF_ACT_DISCRETE; out->act_dims = 1; out->act_n[0] = 3;
    out->agents_per_env = (int)cfg[PONG_PLAYERS];
    out->render_height = out->render_width = PONG_RENDER_SIZE;
}

static const char* pong_check_config(const double* cfg) {
    if (cfg[PONG_PLAYERS] == 2 && cfg[PONG_OPPONENT_SPEED] != pong_params[PONG_OPPONENT_SPEED].def)
        return "opponent_speed: players = 2 has no scripted opponent (both paddles are agent rows); "
               "leave opponent_speed at its default or use players = 1";
    return NULL;
}

// paddle_y, agent_points: the right paddle's (row 0); opponent_y, opponent_points: the left's.
// receiver: the side the ball in play was served to (0 right, 1 left); the next serve goes to the
// other with players = 2. first_receiver: the side this episode's first serve went to; the next
// episode's first serve goes to the other. Both are always 0 with players = 1.

static const char* const pong_state_fields[] = {
    "paddle_y", "opponent_y", "ball_x", "ball_y", "ball_vx", "ball_vy",
    "agent_points", "opponent_points", "steps", "receiver", "first_receiver"};

static void pong_get_state(const Pong* env, int lane, double* out) {
    (void)lane;
    out[0] = env->paddle_y; out[1] = env->opponent_y;
    out[2] = env->ball_x; out[3] = env->ball_y; out[4] = env->ball_vx; out[5] = env->ball_vy;
    out[6] = env->agent_points; out[7] = env->opponent_points; out[8] = env->steps;
    out[9] = env->receiver; out[10] = env->first_receiver;
}

static inline int pong_clampi(double v, int lo, int hi) { return !(v >= lo) ? lo : (v > hi ? hi : (int)v); }

static void pong_set_state(Pong* env, int lane, const double* in) {
    (void)lane;
    const float lim = 1.0f - PONG_PADDLE_HALF, vmax = PONG_BOUNCE * PONG_MAX_VX;
    // Clamped to what the rules can reach, so the observation stays in its bounds.
    env->paddle_y = pong_clampf((float)in[0], -lim, lim);
    env->opponent_y = pong_clampf((float)in[1], -lim, lim);
    env->ball_x = pong_clampf((float)in[2], -1.0f, 1.0f);
    env->ball_y = pong_clampf((float)in[3], -1.0f, 1.0f);
    env->ball_vx = pong_clampf((float)in[4], -PONG_MAX_VX, PONG_MAX_VX);
    env->ball_vy = pong_clampf((float)in[5], -vmax, vmax);
    env->agent_points = pong_clampi(in[6], 0, env->points_to_win - 1);
    env->opponent_points = pong_clampi(in[7], 0, env->points_to_win - 1);
    env->steps = pong_clampi(in[8], 0, env->max_steps - 1);
    env->receiver = env->players == 2 && in[9] == 1;
    env->first_receiver = env->players == 2 && in[10] == 1;
    pong_write_obs(env);
}

SF_DEFINE_UNIT_FUNCS(pong, Pong)

static const EnvDesc pong_desc = {
    .name = "pong",
    .doc = "paddle vs a scripted opponent with a capped speed (or both paddles agents: players=2); first to "
           "points_to_win",
    .unit_size = sizeof(Pong), .lanes = 1,
    .params = pong_params, .num_params = PONG_NUM_PARAMS,
    .extra_stats = pong_extra_stats, .num_extra_stats = 2,
    .layout = pong_layout, .check_config = pong_check_config,
    .init = pong_init_unit, .reset = pong_reset_unit, .step_units = pong_step_units,
    .render = pong_render_unit,
    .state_fields = pong_state_fields, .num_state_fields = 11,
    .get_state = pong_get_state_unit, .set_state = pong_set_state_unit,
};

#endif
