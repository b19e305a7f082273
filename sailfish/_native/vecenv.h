// The vector layer: N envs of one kind over caller-owned buffers, stepped in one call,
// optionally split across a pool of threads. Pure C (no Python), so the sanitizer driver
// and the Python binding share it.
#ifndef SAILFISH_VECENV_H
#define SAILFISH_VECENV_H
#include "core.h"

typedef struct ThreadPool ThreadPool;

typedef struct {
    const EnvDesc* desc;
    EnvLayout layout;
    double config[32];
    int num_envs;    // env instances
    int num_rows;    // num_envs * agents_per_env: the batch dimension of every buffer
    int num_units;
    int num_threads;
    uint64_t seed;
    void* units;     // num_units * desc->unit_size bytes
    void* obs;
    void* actions;
    float* rewards;
    uint8_t* terminals;
    uint8_t* truncations;
    uint8_t* masks;
    int owns_masks;
    ThreadPool* pool;
} VecEnv;

// The registry (registry.c).
extern const EnvDesc* const sf_registry[];
extern const int sf_registry_size;
const EnvDesc* sf_find_env(const char* name);

// Fills `layout` for a config; returns NULL or a message naming what is wrong with the config.
const char* sf_check_config(const EnvDesc* desc, const double* cfg, EnvLayout* layout);

// Creates the vector over buffers the caller owns and keeps alive (`masks` may be NULL: the
// vector then keeps its own). Returns NULL on allocation failure. Envs are initialised and
// reset with `seed`.
VecEnv* sf_vec_create(const EnvDesc* desc, const double* cfg, int num_envs, uint64_t seed,
                      int num_threads, void* obs, void* actions, float* rewards,
                      uint8_t* terminals, uint8_t* truncations, uint8_t* masks);
void sf_vec_destroy(VecEnv* vec);

// New episodes everywhere; reseeds every generator from (seed, env index) if `reseed`.
void sf_vec_reset(VecEnv* vec, int reseed, uint64_t seed);

// Returns -1 if every action is valid, else the index of the first row holding an invalid one
// (out of range, or not finite for box actions). Cheap: a vectorized pass, no branches per row.
long sf_vec_check_actions(const VecEnv* vec);

// Steps every env once (auto-resetting finished ones). Actions must have passed the check.
void sf_vec_step(VecEnv* vec);

// Sums the episode statistics of every unit into `out` and zeroes them.
void sf_vec_drain_stats(VecEnv* vec, EpisodeStats* out);

void sf_vec_render(const VecEnv* vec, int env, uint8_t* rgb);
void sf_vec_get_state(const VecEnv* vec, int env, double* out);
void sf_vec_set_state(VecEnv* vec, int env, const double* in);

#endif
