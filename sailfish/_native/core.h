// Sailfish C environment ABI: what every environment header builds on.
//
// An environment is one header under envs/ defining a struct whose FIRST member is an EnvCore,
// plus init/reset/step/render functions and an EnvDesc that registry.c lists. The vector layer
// (vecenv.c) owns the buffers and the threads; an env only reads actions and writes its rows.
//
// A "unit" is one env struct. Most envs are scalar: one unit = one env instance. Envs whose
// dynamics vectorize (cartpole) keep arrays per field over a block of `lanes` instances, so one
// unit steps up to `lanes` envs in a loop gcc turns into SIMD. Either way a unit owns
// core.num_envs * agents_per_env consecutive rows of every buffer, and has one generator seeded
// from (seed, index of the unit's first env): results never depend on how units are split
// across threads.
//
// An env owns its rows between its own steps: nothing else writes them, so an env may update
// only the observation cells that changed (squared, breakout) instead of rewriting the row.
#ifndef SAILFISH_CORE_H
#define SAILFISH_CORE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// ---------------------------------------------------------------- random numbers
// PCG32 (O'Neill 2014): 8 bytes of state, good statistics, a multiply and a few shifts per draw.
typedef struct { uint64_t state; } Rng;

static inline uint64_t sf_splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static inline uint32_t sf_rng_u32(Rng* rng) {
    uint64_t old = rng->state;
    rng->state = old * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

// The stream of env `index` under `seed`: two splitmix rounds decorrelate neighbouring indices.
static inline void sf_rng_seed(Rng* rng, uint64_t seed, uint64_t index) {
    rng->state = sf_splitmix64(sf_splitmix64(seed) ^ (index * 0xD1B54A32D192ED03ull));
    sf_rng_u32(rng);
}

// Uniform integer in [0, n), Lemire's multiply-shift (bias below 2^-32 for the small n used here).
static inline uint32_t sf_rng_below(Rng* rng, uint32_t n) {
    return (uint32_t)(((uint64_t)sf_rng_u32(rng) * n) >> 32);
}

// Uniform float in [0, 1) with 24 random bits.
static inline float sf_rng_uniform(Rng* rng) {
    return (float)(sf_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

static inline float sf_rng_range(Rng* rng, float lo, float hi) {
    return lo + (hi - lo) * sf_rng_uniform(rng);
}

// ---------------------------------------------------------------- episode statistics
// Running sums over finished episodes; the vector layer adds them up across units and hands
// the means to Python, then zeroes them ("since last read").
#define SF_MAX_EXTRA_STATS 12
typedef struct {
    double episodes;
    double episode_return;
    double episode_length;
    double score;                      // the env's own measure of success, documented per env
    double extra[SF_MAX_EXTRA_STATS];  // env-specific sums, named by EnvDesc.extra_stats
} EpisodeStats;

static inline void sf_log_episode(EpisodeStats* s, float ret, float length, float score) {
    s->episodes += 1.0;
    s->episode_return += ret;
    s->episode_length += length;
    s->score += score;
}

// ---------------------------------------------------------------- the common core
typedef struct {
    void*    obs;          // float* or uint8_t*: this unit's first row of the observation buffer
    void*    actions;      // int32_t* (discrete) or float* (box): this unit's first row
    float*   rewards;
    uint8_t* terminals;    // 1 where the episode ended by the rules on this step
    uint8_t* truncations;  // 1 where it ended by a time limit
    uint8_t* masks;        // 1 where the row's current observation is a live agent's (it acts on
                           // it); all 1 after reset. Multi-agent envs clear it while an agent is
                           // dead, so learners skip the row. The step an agent dies on returns its
                           // reward and terminal = 1 with mask 0 when the row goes dead: the
                           // transition is real (the agent acted on a masked-1 observation).
    int      num_envs;     // env instances in this unit (1 for scalar envs, <= lanes otherwise)
    int      env_index;    // index of this unit's first env in the vector
    Rng      rng;
    EpisodeStats stats;
    int      init_failed;  // set by init when it cannot allocate: creating the vector then fails
} EnvCore;

// ---------------------------------------------------------------- descriptors
typedef enum { SF_OBS_F32 = 0, SF_OBS_U8 = 1 } ObsType;
typedef enum { SF_ACT_DISCRETE = 0, SF_ACT_MULTIDISCRETE = 1, SF_ACT_BOX = 2 } ActType;

#define SF_MAX_ACT_DIMS 8
#define SF_MAX_STATE_FIELDS 64  // get_state/set_state exchange at most this many doubles

// A config parameter: every env reads its config as doubles, indexed by its own enum.
typedef struct {
    const char* name;
    double def, lo, hi;  // default and inclusive bounds
    int is_int;
    const char* doc;
} ParamDesc;

// Shapes and bounds, which may depend on the config (the grid size of squared, say).
typedef struct {
    ObsType obs_type;
    int obs_ndim, obs_shape[3];
    float obs_low, obs_high;     // bounds for every element unless obs_high_per_dim is set
    const float* obs_high_per_dim;  // optional: symmetric bounds [-h, h] per element
    ActType act_type;
    int act_dims;                // 1 for Discrete; k for MultiDiscrete and Box
    int act_n[SF_MAX_ACT_DIMS];  // choices per dimension (discrete kinds)
    float act_low, act_high;     // bounds (box)
    int agents_per_env;
    int render_height, render_width;
    // Legal-move flags in the observation (a Discrete env whose moves can be illegal, connect4's
    // full columns): obs[legal_flags_offset + a] > 0 when action a is legal. num_legal_flags is
    // act_n[0], or 0 (the default) when every action is always legal. Python builds the policy's
    // action masks from them (NativeVecEnv.action_masks).
    int legal_flags_offset, num_legal_flags;
} EnvLayout;

typedef struct {
    const char* name;
    const char* doc;
    size_t unit_size;  // sizeof the env struct
    int lanes;         // envs per unit: 1, or the block width of a SIMD env
    const ParamDesc* params;
    int num_params;
    const char* const* extra_stats;
    int num_extra_stats;
    void (*layout)(const double* cfg, EnvLayout* out);
    const char* (*check_config)(const double* cfg);  // cross-parameter rules; NULL if fine
    void (*init)(void* unit, const double* cfg);     // the core is filled in before this is called;
                                                     // may allocate (never step), freed by close
    void (*close)(void* unit);                       // optional: frees what init allocated
    void (*reset)(void* unit);                       // new episodes for every env of the unit
    void (*step_units)(void* units, int count);      // steps `count` consecutive units
    void (*render)(const void* unit, int lane, uint8_t* rgb);
    // Named state of one env, read and written as doubles: how rule tests set up a known
    // state, and how a viewer inspects one. set_state also rewrites that env's observation.
    const char* const* state_fields;
    int num_state_fields;
    void (*get_state)(const void* unit, int lane, double* out);
    void (*set_state)(void* unit, int lane, const double* in);
} EnvDesc;

static inline int sf_obs_size(const EnvLayout* l) {
    int n = 1;
    for (int i = 0; i < l->obs_ndim; i++) n *= l->obs_shape[i];
    return n;
}

// ---------------------------------------------------------------- drawing (headless RGB)
typedef struct { uint8_t r, g, b; } Color;

static inline void sf_fill_rect(uint8_t* rgb, int w, int h, int x0, int y0, int x1, int y1, Color c) {
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > w) x1 = w;
    if (y1 > h) y1 = h;
    for (int y = y0; y < y1; y++) {
        for (int x = x0; x < x1; x++) {
            uint8_t* p = rgb + 3 * (y * w + x);
            p[0] = c.r; p[1] = c.g; p[2] = c.b;
        }
    }
}

// A line of the given thickness, drawn as overlapping squares along it.
static inline void sf_draw_line(uint8_t* rgb, int w, int h, float x0, float y0, float x1, float y1,
                                int thickness, Color c) {
    float dx = x1 - x0, dy = y1 - y0;
    int n = (int)(fabsf(dx) > fabsf(dy) ? fabsf(dx) : fabsf(dy)) + 1;
    int r = thickness / 2;
    for (int i = 0; i <= n; i++) {
        int x = (int)(x0 + dx * (float)i / (float)n), y = (int)(y0 + dy * (float)i / (float)n);
        sf_fill_rect(rgb, w, h, x - r, y - r, x - r + thickness, y - r + thickness, c);
    }
}

// Builds the per-env stepping loop. On x86-64 with gcc the loop is compiled three times
// (AVX-512, AVX2, baseline) and the loader picks the best for the CPU, so a wheel built on
// one machine stays portable yet SIMD envs get the wide vectors where they exist.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(SF_NO_CLONES)
#define SF_HOT __attribute__((flatten, target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SF_HOT
#endif

// The untyped entry points an EnvDesc points at, from an env's typed functions
// prefix_init(Type*, const double*), prefix_reset(Type*), prefix_step(Type*) and
// prefix_render(const Type*, int lane, uint8_t*), prefix_get_state(const Type*, int, double*)
// and prefix_set_state(Type*, int, const double*).
#define SF_DEFINE_UNIT_FUNCS(prefix, Type)                                         \
    static void prefix##_init_unit(void* u, const double* cfg) { prefix##_init((Type*)u, cfg); } \
    static void prefix##_reset_unit(void* u) { prefix##_reset((Type*)u); }         \
    static void prefix##_render_unit(const void* u, int lane, uint8_t* rgb) {      \
        prefix##_render((const Type*)u, lane, rgb);                                \
    }                                                                              \
    static void prefix##_get_state_unit(const void* u, int lane, double* out) {    \
        prefix##_get_state((const Type*)u, lane, out);                             \
    }                                                                              \
    static void prefix##_set_state_unit(void* u, int lane, const double* in) {     \
        prefix##_set_state((Type*)u, lane, in);                                    \
    }                                                                              \
    SF_HOT static void prefix##_step_units(void* units, int count) {               \
        Type* envs = (Type*)units;                                                 \
        for (int i = 0; i < count; i++) prefix##_step(&envs[i]);                   \
    }

#endif  // SAILFISH_CORE_H
