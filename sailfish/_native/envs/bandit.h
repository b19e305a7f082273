// bandit: a multi-armed bandit, one step per episode. Arm `optimal_arm` pays 1 with probability
// optimal_prob, every other arm with probability other_prob; the observation carries no
// information (a constant 1), so the policy must learn which arm is best from rewards alone.
//
// Observation: float32 [1]. Actions: Discrete(arms). Score: fraction of pulls of the best arm.
#ifndef SAILFISH_BANDIT_H
#define SAILFISH_BANDIT_H
#include "../core.h"

enum { BANDIT_ARMS, BANDIT_OPTIMAL_ARM, BANDIT_OPTIMAL_PROB, BANDIT_OTHER_PROB, BANDIT_NUM_PARAMS };
static const ParamDesc bandit_params[] = {
    {"arms", 4, 2, 64, 1, "number of arms"},
    {"optimal_arm", 2, 0, 63, 1, "index of the best arm (must be < arms)"},
    {"optimal_prob", 0.8, 0, 1, 0, "probability that the best arm pays 1"},
    {"other_prob", 0.2, 0, 1, 0, "probability that any other arm pays 1"},
};

typedef struct {
    EnvCore core;
    int arms, optimal_arm, last_arm;
    float optimal_prob, other_prob;
} Bandit;

static void bandit_init(Bandit* env, const double* cfg) {
    env->arms = (int)cfg[BANDIT_ARMS];
    env->optimal_arm = (int)cfg[BANDIT_OPTIMAL_ARM];
    env->optimal_prob = (float)cfg[BANDIT_OPTIMAL_PROB];
    env->other_prob = (float)cfg[BANDIT_OTHER_PROB];
}

static void bandit_reset(Bandit* env) {
    *(float*)env->core.obs = 1.0f;
    env->last_arm = -1;
}

static inline void bandit_step(Bandit* env) {
    const int arm = *(const int32_t*)env->core.actions;
    const int best = arm == env->optimal_arm;
    const float p = best ? env->optimal_prob : env->other_prob;
    const float reward = sf_rng_uniform(&env->core.rng) < p ? 1.0f : 0.0f;
    env->last_arm = arm;
    *env->core.rewards = reward;
    *env->core.terminals = 1;
    *env->core.truncations = 0;
    sf_log_episode(&env->core.stats, reward, 1.0f, (float)best);
}

static void bandit_render(const Bandit* env, int lane, uint8_t* rgb) {
    (void)lane;
    const int w = 16 * 24, h = 48;
    const Color bg = {20, 20, 28}, arm = {90, 90, 110}, best = {90, 200, 120}, pulled = {255, 200, 60};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, bg);
    for (int a = 0; a < env->arms && a < 16; a++) {
        Color c = a == env->last_arm ? pulled : (a == env->optimal_arm ? best : arm);
        sf_fill_rect(rgb, w, h, a * 24 + 4, 8, a * 24 + 20, 40, c);
    }
}

static void bandit_layout(const double* cfg, EnvLayout* out) {
    out->obs_type = SF_OBS_F32;
    out->obs_ndim = 1; out->obs_shape[0] = 1;
    out->obs_low = 0; out->obs_high = 1;
    out->act_type = SF_ACT_DISCRETE; out->act_dims = 1; out->act_n[0] = (int)cfg[BANDIT_ARMS];
    out->agents_per_env = 1;
    out->render_height = 48; out->render_width = 16 * 24;
}

static const char* bandit_check_config(const double* cfg) {
    if (cfg[BANDIT_OPTIMAL_ARM] >= cfg[BANDIT_ARMS]) return "optimal_arm: must be < arms";
    return NULL;
}

static const char* const bandit_state_fields[] = {"last_arm"};

static void bandit_get_state(const Bandit* env, int lane, double* out) {
    (void)lane;
    out[0] = env->last_arm;
}

static void bandit_set_state(Bandit* env, int lane, const double* in) {
    (void)lane;
    env->last_arm = (int)in[0];
}

SF_DEFINE_UNIT_FUNCS(bandit, Bandit)

static const EnvDesc bandit_desc = {
    .name = "bandit",
    .doc = "multi-armed bandit: find the arm that pays most",
    .unit_size = sizeof(Bandit), .lanes = 1,
    .params = bandit_params, .num_params = BANDIT_NUM_PARAMS,
    .layout = bandit_layout, .check_config = bandit_check_config,
    .init = bandit_init_unit, .reset = bandit_reset_unit, .step_units = bandit_step_units,
    .render = bandit_render_unit,
    .state_fields = bandit_state_fields, .num_state_fields = 1,
    .get_state = bandit_get_state_unit, .set_state = bandit_set_state_unit,
};

#endif
