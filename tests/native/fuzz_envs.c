// Sanitizer driver: steps every registered env at least `steps` agent-steps (rows stepped, so a
// many-agent world counts each agent) with random and edge-case actions, through the same vector
// layer Python uses, with 1 and 2 threads; under its default config, then under each of the
// VARIANTS below (modes whose code the defaults never reach: connect4's and pong's self-play, snake's arenas).
// Built by tests/test_sanitizer.py with -fsanitize=address,undefined; any report fails the test.
//
//   fuzz_envs [steps_per_env=1000000] [env_name]
#include <stdio.h>
#include <stdlib.h>

#include "vecenv.h"

#define NUM_ENVS 64          // single-agent envs
#define NUM_WORLDS 4         // many-agent envs

// Configs besides the defaults: the parameters each sets, the rest at their defaults.
typedef struct { const char* name; double value; } Setting;
typedef struct {
    const char* env;
    const char* label;  // the name the report line carries: env[settings]
    Setting settings[5];
} Variant;
static const Variant VARIANTS[] = {
    {"connect4", "connect4[players=2]", {{"players", 2}}},
    {"connect4", "connect4[opponent=1,opponent_depth=2]", {{"opponent", 1}, {"opponent_depth", 2}}},
    {"connect4", "connect4[opponent=2]", {{"opponent", 2}}},
    {"pong", "pong[players=2]", {{"players", 2}}},
    {"pong", "pong[players=2,frameskip=4]", {{"players", 2}, {"frameskip", 4}, {"ball_speed", 0.08}}},
    {"snake", "snake[horizon=64]", {{"horizon", 64}}},
    {"snake", "snake[horizon=1,crowded]", {{"horizon", 1}, {"width", 8}, {"height", 8}, {"snakes", 24}, {"food", 8}}},
};
#define NUM_VARIANTS ((int)(sizeof(VARIANTS) / sizeof(VARIANTS[0])))

// The defaults with `v`'s settings (v NULL: the defaults alone); 1 if a setting names no parameter.
static int make_config(const EnvDesc* desc, const Variant* v, double* cfg) {
    for (int i = 0; i < desc->num_params; i++) cfg[i] = desc->params[i].def;
    for (int k = 0; v && k < 5 && v->settings[k].name; k++) {
        int found = 0;
        for (int i = 0; i < desc->num_params; i++) {
            if (strcmp(desc->params[i].name, v->settings[k].name) == 0) { cfg[i] = v->settings[k].value; found = 1; }
        }
        if (!found) { fprintf(stderr, "%s: no parameter %s\n", v->label, v->settings[k].name); return 1; }
    }
    return 0;
}

static int fuzz(const EnvDesc* desc, const double* cfg, const char* label, long total_steps, int threads) {
    EnvLayout l;
    if (sf_check_config(desc, cfg, &l)) { fprintf(stderr, "%s: config rejected\n", label); return 1; }
    const int num_envs = l.agents_per_env > 1 ? NUM_WORLDS : NUM_ENVS;
    const int rows = num_envs * l.agents_per_env;
    const size_t obs_bytes = (size_t)rows * (size_t)sf_obs_size(&l) * (l.obs_type == SF_OBS_F32 ? 4 : 1);
    void* obs = malloc(obs_bytes);
    void* actions = malloc((size_t)rows * (size_t)l.act_dims * 4);
    float* rewards = malloc(sizeof(float) * (size_t)rows);
    uint8_t* terminals = malloc((size_t)rows);
    uint8_t* truncations = malloc((size_t)rows);
    uint8_t* rgb = malloc((size_t)l.render_height * (size_t)l.render_width * 3);
    // Every other run lets the vector own its masks; the others pass one in.
    uint8_t* masks = threads == 1 ? malloc((size_t)rows) : NULL;
    VecEnv* vec = sf_vec_create(desc, cfg, num_envs, 7, threads, obs, actions, rewards, terminals, truncations,
                                masks);
    Rng rng;
    sf_rng_seed(&rng, 123, (uint64_t)threads);
    long iters = (total_steps + rows - 1) / rows;
    double reward_sum = 0;
    for (long it = 0; it < iters; it++) {
        int mode = (int)(it % 4);  // random, all-min, all-max, mixed edges
        for (int r = 0; r < rows; r++) {
            for (int d = 0; d < l.act_dims; d++) {
                int k = r * l.act_dims + d;
                if (l.act_type == SF_ACT_BOX) {
                    static const float edges[] = {-1e30f, -1.0f, 0.0f, 1.0f, 1e30f};
                    float v = mode == 0 ? sf_rng_range(&rng, -2.0f, 2.0f) : edges[sf_rng_below(&rng, 5)];
                    ((float*)actions)[k] = v;
                } else {
                    int n = l.act_n[d];
                    int v = mode == 0 ? (int)sf_rng_below(&rng, (uint32_t)n)
                          : mode == 1 ? 0 : mode == 2 ? n - 1 : (sf_rng_below(&rng, 2) ? 0 : n - 1);
                    ((int32_t*)actions)[k] = v;
                }
            }
        }
        if (sf_vec_check_actions(vec) >= 0) { fprintf(stderr, "%s: valid actions rejected\n", label); return 1; }
        sf_vec_step(vec);
        for (int r = 0; r < rows; r++) reward_sum += rewards[r];
        if (it % 9973 == 0) {
            sf_vec_render(vec, (int)(it % num_envs), rgb);
            EpisodeStats s;
            sf_vec_drain_stats(vec, &s);
        }
        if (it % 50000 == 0) sf_vec_reset(vec, 1, (uint64_t)it);
    }
    // Invalid actions must be caught by the check, never reach step.
    if (l.act_type == SF_ACT_BOX) {
        ((float*)actions)[0] = NAN;
    } else {
        ((int32_t*)actions)[0] = -1;
        if (sf_vec_check_actions(vec) != 0) { fprintf(stderr, "%s: -1 not rejected\n", label); return 1; }
        ((int32_t*)actions)[0] = l.act_n[0];
    }
    if (sf_vec_check_actions(vec) != 0) { fprintf(stderr, "%s: invalid action not rejected\n", label); return 1; }
    // State round trip through get/set for every env.
    double state[SF_MAX_STATE_FIELDS];
    for (int e = 0; e < num_envs; e++) {
        sf_vec_get_state(vec, e, state);
        sf_vec_set_state(vec, e, state);
    }
    sf_vec_destroy(vec);
    free(obs); free(actions); free(rewards); free(terminals); free(truncations); free(rgb); free(masks);
    printf("%-16s threads=%d agent_steps=%ld reward_sum=%.1f ok\n", label, threads, iters * rows, reward_sum);
    return 0;
}

int main(int argc, char** argv) {
    long steps = argc > 1 ? atol(argv[1]) : 1000000;
    const char* only = argc > 2 ? argv[2] : NULL;
    int failures = 0;
    double cfg[32];
    for (int i = 0; i < sf_registry_size; i++) {
        const EnvDesc* desc = sf_registry[i];
        if (only && strcmp(only, desc->name) != 0) continue;
        if (make_config(desc, NULL, cfg)) return 1;
        failures += fuzz(desc, cfg, desc->name, steps, 1);
        failures += fuzz(desc, cfg, desc->name, steps / 4, 2);
        for (int v = 0; v < NUM_VARIANTS; v++) {
            if (strcmp(VARIANTS[v].env, desc->name) != 0) continue;
            if (make_config(desc, &VARIANTS[v], cfg)) return 1;
            failures += fuzz(desc, cfg, VARIANTS[v].label, steps, 1);
            failures += fuzz(desc, cfg, VARIANTS[v].label, steps / 4, 2);
        }
    }
    return failures ? 1 : 0;
}
