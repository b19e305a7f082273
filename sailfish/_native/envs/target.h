// target: a point mass in the square [-1, 1]^2 must reach a target disc of radius `radius`
// within max_steps steps. A continuous-control sanity env: Box actions exercise the Gaussian head.
//
// Actions: Box(-1, 1, (2,)) float32, an acceleration command per axis, clipped to [-1, 1] here
// (the vector layer has already refused NaN and infinities). Dynamics per axis, per step:
//   v' = 0.9 v + 0.1 a   (so |v| <= 1),   p' = p + 0.05 v'
// and a point that would leave the square stops at the wall, its velocity on that axis zeroed.
// Reward: the decrease in distance to the target on this step (progress; a whole episode sums to
// start distance - end distance), plus 1 on reaching the target, which ends the episode (terminal).
// Running out of steps truncates it. Episodes start at rest, p and target uniform in
// [-0.9, 0.9]^2 with the target at least 0.5 away, so aimless play rarely arrives.
// Observation: float32 [x, y, vx, vy, target_x - x, target_y - y]. Score: success rate.
//
// State is kept as arrays per field over a block of TARGET_LANES envs, stepped in one loop
// (like cartpole.h); new episodes are drawn in a second, scalar pass.
#ifndef SAILFISH_TARGET_H
#define SAILFISH_TARGET_H
#include "../core.h"

#define TARGET_LANES 64
#define TARGET_DAMPING 0.9f
#define TARGET_GAIN 0.1f
#define TARGET_DT 0.05f
#define TARGET_MIN_START_DISTANCE 0.5f

enum { TARGET_MAX_STEPS, TARGET_RADIUS, TARGET_NUM_PARAMS };
static const ParamDesc target_params[] = {
    {"max_steps", 200, 1, 1e9, 1, "steps after which an episode is truncated"},
    {"radius", 0.1, 0.01, 1, 0, "radius of the target disc; reaching it ends the episode"},
};

typedef struct {
    EnvCore core;
    int max_steps;
    float radius;
    float x[TARGET_LANES], y[TARGET_LANES], vx[TARGET_LANES], vy[TARGET_LANES];
    float tx[TARGET_LANES], ty[TARGET_LANES];
    float dist[TARGET_LANES], ret[TARGET_LANES];
    int32_t steps[TARGET_LANES];
} Target;

static inline float target_distance(const Target* env, int i) {
    float dx = env->tx[i] - env->x[i], dy = env->ty[i] - env->y[i];
    return sqrtf(dx * dx + dy * dy);
}

static inline void target_write_obs(Target* env, int i) {
    float* o = (float*)env->core.obs + 6 * i;
    o[0] = env->x[i]; o[1] = env->y[i]; o[2] = env->vx[i]; o[3] = env->vy[i];
    o[4] = env->tx[i] - env->x[i]; o[5] = env->ty[i] - env->y[i];
}

static inline void target_new_episode(Target* env, int i) {
    Rng* rng = &env->core.rng;
    env->x[i] = sf_rng_range(rng, -0.9f, 0.9f);
    env->y[i] = sf_rng_range(rng, -0.9f, 0.9f);
    for (int tries = 0; tries < 16; tries++) {  // a far target is found in ~1.3 draws on average
        env->tx[i] = sf_rng_range(rng, -0.9f, 0.9f);
        env->ty[i] = sf_rng_range(rng, -0.9f, 0.9f);
        if (target_distance(env, i) >= TARGET_MIN_START_DISTANCE) break;
    }
    env->vx[i] = env->vy[i] = 0.0f;
    env->dist[i] = target_distance(env, i);
    env->ret[i] = 0.0f;
    env->steps[i] = 0;
    target_write_obs(env, i);
}

static void target_init(Target* env, const double* cfg) {
    env->max_steps = (int)cfg[TARGET_MAX_STEPS];
    env->radius = (float)cfg[TARGET_RADIUS];
}

static void target_reset(Target* env) {
    for (int i = 0; i < env->core.num_envs; i++) target_new_episode(env, i);
}

static inline float target_clip(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

static inline void target_step(Target* env) {
    const int n = env->core.num_envs;
    const float* restrict actions = (const float*)env->core.actions;
    float* restrict obs = (float*)env->core.obs;
    float* restrict rewards = env->core.rewards;
    uint8_t* restrict terminals = env->core.terminals;
    uint8_t* restrict truncations = env->core.truncations;
    float* restrict xs = env->x;
    float* restrict ys = env->y;
    float* restrict vxs = env->vx;
    float* restrict vys = env->vy;
    const float* restrict txs = env->tx;
    const float* restrict tys = env->ty;
    float* restrict dists = env->dist;
    float* restrict rets = env->ret;
    int32_t* restrict steps = env->steps;
    const float radius = env->radius;
    const int max_steps = env->max_steps;
    int any_done = 0;
    for (int i = 0; i < n; i++) {
        float ax = target_clip(actions[2 * i], -1.0f, 1.0f), ay = target_clip(actions[2 * i + 1], -1.0f, 1.0f);
        float vx = TARGET_DAMPING * vxs[i] + TARGET_GAIN * ax, vy = TARGET_DAMPING * vys[i] + TARGET_GAIN * ay;
        float x = xs[i] + TARGET_DT * vx, y = ys[i] + TARGET_DT * vy;
        float cx = target_clip(x, -1.0f, 1.0f), cy = target_clip(y, -1.0f, 1.0f);
        vx = cx == x ? vx : 0.0f;
        vy = cy == y ? vy : 0.0f;
        float dx = txs[i] - cx, dy = tys[i] - cy;
        float d = sqrtf(dx * dx + dy * dy);
        int success = d < radius;
        int32_t t = steps[i] + 1;
        float reward = (dists[i] - d) + (success ? 1.0f : 0.0f);
        xs[i] = cx; ys[i] = cy; vxs[i] = vx; vys[i] = vy; dists[i] = d; steps[i] = t;
        rets[i] += reward;
        obs[6 * i + 0] = cx; obs[6 * i + 1] = cy; obs[6 * i + 2] = vx; obs[6 * i + 3] = vy;
        obs[6 * i + 4] = dx; obs[6 * i + 5] = dy;
        rewards[i] = reward;
        int truncated = !success & (t >= max_steps);
        terminals[i] = (uint8_t)success;
        truncations[i] = (uint8_t)truncated;
        any_done |= success | truncated;
    }
    if (!any_done) return;
    for (int i = 0; i < n; i++) {
        if (terminals[i] | truncations[i]) {
            sf_log_episode(&env->core.stats, rets[i], (float)steps[i], (float)terminals[i]);
            target_new_episode(env, i);
        }
    }
}

#define TARGET_RENDER_PX 240
static void target_render(const Target* env, int lane, uint8_t* rgb) {
    const int w = TARGET_RENDER_PX, h = TARGET_RENDER_PX;
    const float scale = (float)(w - 1) / 2.0f;
    const Color bg = {28, 30, 38}, goal = {90, 200, 120}, agent = {250, 200, 60}, vel = {230, 230, 240};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, bg);
    int gx = (int)((env->tx[lane] + 1.0f) * scale), gy = (int)((1.0f - env->ty[lane]) * scale);
    int gr = (int)(env->radius * scale);
    for (int y = -gr; y <= gr; y++)
        for (int x = -gr; x <= gr; x++)
            if (x * x + y * y <= gr * gr) sf_fill_rect(rgb, w, h, gx + x, gy + y, gx + x + 1, gy + y + 1, goal);
    float ax = (env->x[lane] + 1.0f) * scale, ay = (1.0f - env->y[lane]) * scale;
    sf_draw_line(rgb, w, h, ax, ay, ax + 40.0f * env->vx[lane], ay - 40.0f * env->vy[lane], 2, vel);
    sf_fill_rect(rgb, w, h, (int)ax - 4, (int)ay - 4, (int)ax + 5, (int)ay + 5, agent);
}

static void target_layout(const double* cfg, EnvLayout* out) {
    (void)cfg;
    static const float high[6] = {1.0f, 1.0f, 1.0f, 1.0f, 2.0f, 2.0f};
    out->obs_type = SF_OBS_F32;
    out->obs_ndim = 1; out->obs_shape[0] = 6;
    out->obs_high_per_dim = high;
    out->act_type = SF_ACT_BOX; out->act_dims = 2; out->act_low = -1.0f; out->act_high = 1.0f;
    out->agents_per_env = 1;
    out->render_height = out->render_width = TARGET_RENDER_PX;
}

static const char* const target_state_fields[] = {"x", "y", "vx", "vy", "target_x", "target_y", "steps"};

static void target_get_state(const Target* env, int i, double* out) {
    out[0] = env->x[i]; out[1] = env->y[i]; out[2] = env->vx[i]; out[3] = env->vy[i];
    out[4] = env->tx[i]; out[5] = env->ty[i]; out[6] = env->steps[i];
}

// Positions are clipped to the square and velocities to [-1, 1], so the observation stays in
// its bounds (NaN reads as 0); the episode return restarts from 0.
static void target_set_state(Target* env, int i, const double* in) {
    float v[6];
    for (int k = 0; k < 6; k++) v[k] = in[k] == in[k] ? target_clip((float)in[k], -1.0f, 1.0f) : 0.0f;
    env->x[i] = v[0]; env->y[i] = v[1]; env->vx[i] = v[2]; env->vy[i] = v[3];
    env->tx[i] = v[4]; env->ty[i] = v[5];
    env->steps[i] = in[6] >= 0 && in[6] < 1e9 ? (int32_t)in[6] : 0;
    env->dist[i] = target_distance(env, i);
    env->ret[i] = 0.0f;
    target_write_obs(env, i);
}

SF_DEFINE_UNIT_FUNCS(target, Target)

static const EnvDesc target_desc = {
    .name = "target",
    .doc = "steer a point mass to a target disc with continuous accelerations (Box actions)",
    .unit_size = sizeof(Target), .lanes = TARGET_LANES,
    .params = target_params, .num_params = TARGET_NUM_PARAMS,
    .layout = target_layout,
    .init = target_init_unit, .reset = target_reset_unit, .step_units = target_step_units,
    .render = target_render_unit,
    .state_fields = target_state_fields, .num_state_fields = 7,
    .get_state = target_get_state_unit, .set_state = target_set_state_unit,
};

#endif
