// cartpole: Gymnasium CartPole-v1, same constants, Euler integrator, termination and 500-step
// truncation, reward 1 on every step (the terminating one included). From the same state and
// actions it gives Gymnasium's trajectory to float32 tolerance (tests/test_cartpole.py).
//
// State is kept as arrays per field over a block of CARTPOLE_LANES envs and stepped in one
// branch-free loop that gcc vectorizes; sin/cos are short polynomials, exact to float32 over
// the |theta| < pi/2 the rules allow (an episode ends past 12 degrees). Finished envs are reset
// in a second, scalar pass.
//
// Observation: float32 [x, x_dot, theta, theta_dot]. Actions: Discrete(2), 0 pushes left,
// 1 pushes right. Score: the episode length divided by max_steps (1.0 = balanced to the limit).
#ifndef SAILFISH_CARTPOLE_H
#define SAILFISH_CARTPOLE_H
#include "../core.h"

#define CARTPOLE_LANES 64

enum { CARTPOLE_MAX_STEPS, CARTPOLE_NUM_PARAMS };
static const ParamDesc cartpole_params[] = {
    {"max_steps", 500, 1, 1e9, 1, "steps after which an episode is truncated"},
};

// Gymnasium's constants, kept in the same arithmetic form.
#define CP_GRAVITY 9.8f
#define CP_MASSCART 1.0f
#define CP_MASSPOLE 0.1f
#define CP_TOTAL_MASS (CP_MASSPOLE + CP_MASSCART)
#define CP_LENGTH 0.5f
#define CP_POLEMASS_LENGTH (CP_MASSPOLE * CP_LENGTH)
#define CP_FORCE_MAG 10.0f
#define CP_TAU 0.02f
#define CP_THETA_THRESHOLD (12.0f * 2.0f * 3.14159265358979323846f / 360.0f)
#define CP_X_THRESHOLD 2.4f

typedef struct {
    EnvCore core;
    int max_steps;
    float x[CARTPOLE_LANES], x_dot[CARTPOLE_LANES];
    float theta[CARTPOLE_LANES], theta_dot[CARTPOLE_LANES];
    int32_t steps[CARTPOLE_LANES];
} CartPole;

// Taylor series through x^11 and x^12: below float32 rounding for |x| <= pi/2.
static inline float cp_sin(float x) {
    float x2 = x * x;
    return x * (1.0f + x2 * (-1.0f / 6 + x2 * (1.0f / 120 + x2 * (-1.0f / 5040 +
               x2 * (1.0f / 362880 + x2 * (-1.0f / 39916800))))));
}
static inline float cp_cos(float x) {
    float x2 = x * x;
    return 1.0f + x2 * (-1.0f / 2 + x2 * (1.0f / 24 + x2 * (-1.0f / 720 + x2 * (1.0f / 40320 +
           x2 * (-1.0f / 3628800 + x2 * (1.0f / 479001600))))));
}

static inline void cartpole_write_obs(CartPole* env, int i) {
    float* o = (float*)env->core.obs + 4 * i;
    o[0] = env->x[i]; o[1] = env->x_dot[i]; o[2] = env->theta[i]; o[3] = env->theta_dot[i];
}

static inline void cartpole_reset_lane(CartPole* env, int i) {
    Rng* rng = &env->core.rng;  // drawn in Gymnasium's order: x, x_dot, theta, theta_dot
    env->x[i] = sf_rng_range(rng, -0.05f, 0.05f);
    env->x_dot[i] = sf_rng_range(rng, -0.05f, 0.05f);
    env->theta[i] = sf_rng_range(rng, -0.05f, 0.05f);
    env->theta_dot[i] = sf_rng_range(rng, -0.05f, 0.05f);
    env->steps[i] = 0;
    cartpole_write_obs(env, i);
}

static void cartpole_init(CartPole* env, const double* cfg) {
    env->max_steps = (int)cfg[CARTPOLE_MAX_STEPS];
}

static void cartpole_reset(CartPole* env) {
    for (int i = 0; i < env->core.num_envs; i++) cartpole_reset_lane(env, i);
}

static inline void cartpole_step(CartPole* env) {
    const int n = env->core.num_envs;
    const int32_t* restrict actions = (const int32_t*)env->core.actions;
    float* restrict obs = (float*)env->core.obs;
    float* restrict rewards = env->core.rewards;
    uint8_t* restrict terminals = env->core.terminals;
    uint8_t* restrict truncations = env->core.truncations;
    float* restrict xs = env->x;
    float* restrict x_dots = env->x_dot;
    float* restrict thetas = env->theta;
    float* restrict theta_dots = env->theta_dot;
    int32_t* restrict steps = env->steps;
    const int max_steps = env->max_steps;
    int any_done = 0;
    for (int i = 0; i < n; i++) {
        float force = actions[i] == 1 ? CP_FORCE_MAG : -CP_FORCE_MAG;
        float x = xs[i], x_dot = x_dots[i], theta = thetas[i], theta_dot = theta_dots[i];
        float costheta = cp_cos(theta), sintheta = cp_sin(theta);
        float temp = (force + CP_POLEMASS_LENGTH * theta_dot * theta_dot * sintheta) / CP_TOTAL_MASS;
        float thetaacc = (CP_GRAVITY * sintheta - costheta * temp) /
            (CP_LENGTH * (4.0f / 3.0f - CP_MASSPOLE * costheta * costheta / CP_TOTAL_MASS));
        float xacc = temp - CP_POLEMASS_LENGTH * thetaacc * costheta / CP_TOTAL_MASS;
        x = x + CP_TAU * x_dot;
        x_dot = x_dot + CP_TAU * xacc;
        theta = theta + CP_TAU * theta_dot;
        theta_dot = theta_dot + CP_TAU * thetaacc;
        int32_t t = steps[i] + 1;
        int terminal = (x < -CP_X_THRESHOLD) | (x > CP_X_THRESHOLD) |
                       (theta < -CP_THETA_THRESHOLD) | (theta > CP_THETA_THRESHOLD);
        int truncated = !terminal & (t >= max_steps);
        xs[i] = x; x_dots[i] = x_dot; thetas[i] = theta; theta_dots[i] = theta_dot;
        steps[i] = t;
        obs[4 * i + 0] = x; obs[4 * i + 1] = x_dot; obs[4 * i + 2] = theta; obs[4 * i + 3] = theta_dot;
        rewards[i] = 1.0f;
        terminals[i] = (uint8_t)terminal;
        truncations[i] = (uint8_t)truncated;
        any_done |= terminal | truncated;
    }
    if (!any_done) return;
    for (int i = 0; i < n; i++) {
        if (terminals[i] | truncations[i]) {
            float length = (float)steps[i];
            sf_log_episode(&env->core.stats, length, length, length / (float)max_steps);
            cartpole_reset_lane(env, i);
        }
    }
}

static void cartpole_render(const CartPole* env, int lane, uint8_t* rgb) {
    const int w = 300, h = 200;
    const Color sky = {245, 245, 240}, track = {60, 60, 60}, cart = {30, 30, 30}, pole = {204, 153, 102};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, sky);
    float scale = (float)w / (2.0f * CP_X_THRESHOLD);
    int track_y = 150;
    sf_fill_rect(rgb, w, h, 0, track_y, w, track_y + 1, track);
    float cx = env->x[lane] * scale + w / 2.0f;
    sf_fill_rect(rgb, w, h, (int)cx - 20, track_y - 15, (int)cx + 20, track_y + 5, cart);
    float pole_len = scale * 2.0f * CP_LENGTH, th = env->theta[lane];
    sf_draw_line(rgb, w, h, cx, (float)(track_y - 15), cx + pole_len * sinf(th),
                 (float)(track_y - 15) - pole_len * cosf(th), 8, pole);
}

static void cartpole_layout(const double* cfg, EnvLayout* out) {
    (void)cfg;
    static const float high[4] = {CP_X_THRESHOLD * 2.0f, 3.4028234663852886e38f,
                                  CP_THETA_THRESHOLD * 2.0f, 3.4028234663852886e38f};
    out->obs_type = SF_OBS_F32;
    out->obs_ndim = 1; out->obs_shape[0] = 4;
    out->obs_high_per_dim = high;
    out->act_type = SF_ACT_DISCRETE; out->act_dims = 1; out->act_n[0] = 2;
    out->agents_per_env = 1;
    out->render_height = 200; out->render_width = 300;
}

static const char* const cartpole_state_fields[] = {"x", "x_dot", "theta", "theta_dot", "steps"};

static void cartpole_get_state(const CartPole* env, int i, double* out) {
    out[0] = env->x[i]; out[1] = env->x_dot[i]; out[2] = env->theta[i]; out[3] = env->theta_dot[i];
    out[4] = env->steps[i];
}

static void cartpole_set_state(CartPole* env, int i, const double* in) {
    env->x[i] = (float)in[0]; env->x_dot[i] = (float)in[1];
    env->theta[i] = (float)in[2]; env->theta_dot[i] = (float)in[3];
    env->steps[i] = (int32_t)in[4];
    cartpole_write_obs(env, i);
}

SF_DEFINE_UNIT_FUNCS(cartpole, CartPole)

static const EnvDesc cartpole_desc = {
    .name = "cartpole",
    .doc = "Gymnasium CartPole-v1 dynamics; balance the pole for max_steps steps",
    .unit_size = sizeof(CartPole), .lanes = CARTPOLE_LANES,
    .params = cartpole_params, .num_params = CARTPOLE_NUM_PARAMS,
    .layout = cartpole_layout,
    .init = cartpole_init_unit, .reset = cartpole_reset_unit, .step_units = cartpole_step_units,
    .render = cartpole_render_unit,
    .state_fields = cartpole_state_fields, .num_state_fields = 5,
    .get_state = cartpole_get_state_unit, .set_state = cartpole_set_state_unit,
};

#endif
