// memory: a bit shown at the first step must be reported `delay` steps later. Only a policy
// with memory (recurrent) can do better than chance.
//
// Observation: float32 [cue, query]: cue is +1 or -1 (the bit) on the first observation of an
// episode and 0 after; query is 1 on the last observation, where the answer is due.
// Actions: Discrete(2), the reported bit; ignored before the query. Reward: +1 for the right
// bit at the query, -1 for the wrong one, 0 otherwise; the episode lasts delay + 1 steps.
// Score: fraction of episodes answered correctly (0.5 is chance).
#ifndef SAILFISH_MEMORY_H
#define SAILFISH_MEMORY_H
#include "../core.h"

enum { MEMORY_DELAY, MEMORY_NUM_PARAMS };
static const ParamDesc memory_params[] = {
    {"delay", 4, 1, 10000, 1, "steps between the cue and the query"},
};

typedef struct {
    EnvCore core;
    int delay;
    int bit, steps;
} Memory;

static inline void memory_write_obs(Memory* env) {
    float* o = (float*)env->core.obs;
    o[0] = env->steps == 0 ? (env->bit ? 1.0f : -1.0f) : 0.0f;
    o[1] = env->steps == env->delay ? 1.0f : 0.0f;
}

static void memory_init(Memory* env, const double* cfg) { env->delay = (int)cfg[MEMORY_DELAY]; }

static inline void memory_new_episode(Memory* env) {
    env->bit = (int)sf_rng_below(&env->core.rng, 2);
    env->steps = 0;
    memory_write_obs(env);
}

static void memory_reset(Memory* env) { memory_new_episode(env); }

static inline void memory_step(Memory* env) {
    *env->core.truncations = 0;
    if (env->steps < env->delay) {
        env->steps++;
        *env->core.rewards = 0.0f;
        *env->core.terminals = 0;
        memory_write_obs(env);
        return;
    }
    const int correct = *(const int32_t*)env->core.actions == env->bit;
    const float reward = correct ? 1.0f : -1.0f;
    *env->core.rewards = reward;
    *env->core.terminals = 1;
    sf_log_episode(&env->core.stats, reward, (float)(env->delay + 1), (float)correct);
    memory_new_episode(env);
}

static void memory_render(const Memory* env, int lane, uint8_t* rgb) {
    (void)lane;
    const int w = 96, h = 48;
    const Color bg = {20, 20, 28}, one = {90, 200, 120}, zero = {220, 80, 80}, off = {60, 60, 70};
    sf_fill_rect(rgb, w, h, 0, 0, w, h, bg);
    Color cue = env->steps == 0 ? (env->bit ? one : zero) : off;
    sf_fill_rect(rgb, w, h, 8, 8, 40, 40, cue);
    sf_fill_rect(rgb, w, h, 56, 8, 88, 40, env->steps == env->delay ? (Color){240, 200, 60} : off);
}

static void memory_layout(const double* cfg, EnvLayout* out) {
    (void)cfg;
    out->obs_type = SF_OBS_F32;
    out->obs_ndim = 1; out->obs_shape[0] = 2;
    out->obs_low = -1; out->obs_high = 1;
    out->act_type = SF_ACT_DISCRETE; out->act_dims = 1; out->act_n[0] = 2;
    out->agents_per_env = 1;
    out->render_height = 48; out->render_width = 96;
}

static const char* const memory_state_fields[] = {"bit", "steps"};

static void memory_get_state(const Memory* env, int lane, double* out) {
    (void)lane;
    out[0] = env->bit; out[1] = env->steps;
}

static void memory_set_state(Memory* env, int lane, const double* in) {
    (void)lane;
    env->bit = in[0] != 0;
    env->steps = in[1] < 0 ? 0 : (in[1] > env->delay ? env->delay : (int)in[1]);
    memory_write_obs(env);
}

SF_DEFINE_UNIT_FUNCS(memory, Memory)

static const EnvDesc memory_desc = {
    .name = "memory",
    .doc = "report a bit seen `delay` steps earlier (needs a recurrent policy)",
    .unit_size = sizeof(Memory), .lanes = 1,
    .params = memory_params, .num_params = MEMORY_NUM_PARAMS,
    .layout = memory_layout,
    .init = memory_init_unit, .reset = memory_reset_unit, .step_units = memory_step_units,
    .render = memory_render_unit,
    .state_fields = memory_state_fields, .num_state_fields = 2,
    .get_state = memory_get_state_unit, .set_state = memory_set_state_unit,
};

#endif
