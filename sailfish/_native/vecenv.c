// Vector stepping and the thread pool. See vecenv.h.
#include "vecenv.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#if (defined(__x86_64__) || defined(__i386__)) && !defined(SF_NO_PAUSE)
#include <immintrin.h>
#define SF_PAUSE() _mm_pause()
#else
#define SF_PAUSE() __asm__ __volatile__("" ::: "memory")
#endif

// ---------------------------------------------------------------- thread pool
// Waiting has three phases. Spin briefly (a vector step of a fast env lasts microseconds, less
// than a futex wake-up); then yield between checks, so that when the machine is oversubscribed
// (more runnable threads than cores, e.g. a learner beside the env threads) the thread we wait
// for gets the core instead of losing whole time slices to our spinning; then sleep on a
// condition variable, so idle env threads give the cores back.
#define SF_SPIN_ITERS 256
#define SF_YIELD_ITERS 256

struct ThreadPool {
    VecEnv* vec;
    int num_threads;  // including the calling thread
    pthread_t* threads;
    atomic_uint generation;
    atomic_int remaining;
    atomic_int stop;
    // Threads asleep on work_cv, and whether the caller sleeps on done_cv. The fast path reads
    // them instead of taking the mutex every step: each side publishes its own change (a new
    // generation, the last job done) before reading the other's flag, and a sleeper raises its
    // flag under the mutex before re-checking, so one of the two always sees the other (seq_cst).
    atomic_int sleepers;
    atomic_int caller_sleeps;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
};

typedef struct { ThreadPool* pool; int index; } WorkerArg;

static void step_range(VecEnv* vec, int thread, int num_threads) {
    int begin = (int)((long)vec->num_units * thread / num_threads);
    int end = (int)((long)vec->num_units * (thread + 1) / num_threads);
    if (end > begin)
        vec->desc->step_units((char*)vec->units + (size_t)begin * vec->desc->unit_size, end - begin);
}

static void* worker_main(void* p) {
    WorkerArg arg = *(WorkerArg*)p;
    free(p);
    ThreadPool* pool = arg.pool;
    unsigned seen = 0;  // the generation at creation: a job may be posted before we get here
    for (;;) {
        for (int spins = 0; atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
                            !atomic_load(&pool->stop) && spins < SF_SPIN_ITERS + SF_YIELD_ITERS;
             spins++) {
            if (spins < SF_SPIN_ITERS) SF_PAUSE();
            else sched_yield();
        }
        if (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop)) {
            pthread_mutex_lock(&pool->mu);
            atomic_fetch_add(&pool->sleepers, 1);
            while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->work_cv, &pool->mu);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mu);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = atomic_load(&pool->generation);
        step_range(pool->vec, arg.index, pool->num_threads);
        if (atomic_fetch_sub(&pool->remaining, 1) == 1 && atomic_load(&pool->caller_sleeps)) {
            pthread_mutex_lock(&pool->mu);
            pthread_cond_signal(&pool->done_cv);
            pthread_mutex_unlock(&pool->mu);
        }
    }
}

static ThreadPool* pool_create(VecEnv* vec, int num_threads) {
    ThreadPool* pool = calloc(1, sizeof(ThreadPool));
    if (!pool) return NULL;
    pool->vec = vec;
    pool->num_threads = num_threads;
    pool->threads = calloc((size_t)num_threads, sizeof(pthread_t));
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->work_cv, NULL);
    pthread_cond_init(&pool->done_cv, NULL);
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->remaining, 0);
    atomic_init(&pool->stop, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->caller_sleeps, 0);
    if (!pool->threads) { free(pool); return NULL; }
    for (int i = 1; i < num_threads; i++) {
        WorkerArg* arg = malloc(sizeof(WorkerArg));
        if (arg) { arg->pool = pool; arg->index = i; }
        if (!arg || pthread_create(&pool->threads[i], NULL, worker_main, arg) != 0) {
            free(arg);
            pool->num_threads = i;  // run with the threads we got
            break;
        }
    }
    return pool;
}

static void pool_destroy(ThreadPool* pool) {
    pthread_mutex_lock(&pool->mu);
    atomic_store(&pool->stop, 1);
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i < pool->num_threads; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->work_cv);
    pthread_cond_destroy(&pool->done_cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool->threads);
    free(pool);
}

static void pool_step(ThreadPool* pool) {
    atomic_store(&pool->remaining, pool->num_threads - 1);
    atomic_fetch_add(&pool->generation, 1);
    if (atomic_load(&pool->sleepers)) {
        pthread_mutex_lock(&pool->mu);
        pthread_cond_broadcast(&pool->work_cv);
        pthread_mutex_unlock(&pool->mu);
    }
    step_range(pool->vec, 0, pool->num_threads);
    for (int spins = 0; atomic_load_explicit(&pool->remaining, memory_order_acquire) != 0 &&
                        spins < SF_SPIN_ITERS + SF_YIELD_ITERS;
         spins++) {
        if (spins < SF_SPIN_ITERS) SF_PAUSE();
        else sched_yield();
    }
    if (atomic_load(&pool->remaining) != 0) {
        pthread_mutex_lock(&pool->mu);
        atomic_store(&pool->caller_sleeps, 1);
        while (atomic_load(&pool->remaining) != 0) pthread_cond_wait(&pool->done_cv, &pool->mu);
        atomic_store(&pool->caller_sleeps, 0);
        pthread_mutex_unlock(&pool->mu);
    }
}

// ---------------------------------------------------------------- the vector
const EnvDesc* sf_find_env(const char* name) {
    for (int i = 0; i < sf_registry_size; i++)
        if (strcmp(sf_registry[i]->name, name) == 0) return sf_registry[i];
    return NULL;
}

const char* sf_check_config(const EnvDesc* desc, const double* cfg, EnvLayout* layout) {
    const char* err = desc->check_config ? desc->check_config(cfg) : NULL;
    if (err) return err;
    memset(layout, 0, sizeof(*layout));
    desc->layout(cfg, layout);
    return NULL;
}

static void* unit_at(const VecEnv* vec, int u) { return (char*)vec->units + (size_t)u * vec->desc->unit_size; }

VecEnv* sf_vec_create(const EnvDesc* desc, const double* cfg, int num_envs, uint64_t seed,
                      int num_threads, void* obs, void* actions, float* rewards,
                      uint8_t* terminals, uint8_t* truncations, uint8_t* masks) {
    VecEnv* vec = calloc(1, sizeof(VecEnv));
    if (!vec) return NULL;
    vec->desc = desc;
    memcpy(vec->config, cfg, sizeof(double) * (size_t)desc->num_params);
    sf_check_config(desc, vec->config, &vec->layout);
    vec->num_envs = num_envs;
    vec->num_rows = num_envs * vec->layout.agents_per_env;
    vec->num_units = (num_envs + desc->lanes - 1) / desc->lanes;
    vec->seed = seed;
    vec->obs = obs; vec->actions = actions; vec->rewards = rewards;
    vec->terminals = terminals; vec->truncations = truncations;
    vec->owns_masks = masks == NULL;
    vec->masks = masks ? masks : malloc((size_t)vec->num_rows);
    if (!vec->masks) { free(vec); return NULL; }
    // Cache-line aligned so units never share a line across threads' boundaries.
    size_t bytes = (size_t)vec->num_units * desc->unit_size;
    bytes = (bytes + 63) / 64 * 64;
    vec->units = aligned_alloc(64, bytes ? bytes : 64);
    if (!vec->units) {
        if (vec->owns_masks) free(vec->masks);
        free(vec);
        return NULL;
    }
    memset(vec->units, 0, bytes);

    size_t obs_item = vec->layout.obs_type == SF_OBS_F32 ? sizeof(float) : sizeof(uint8_t);
    size_t act_item = vec->layout.act_type == SF_ACT_BOX ? sizeof(float) : sizeof(int32_t);
    size_t obs_row = obs_item * (size_t)sf_obs_size(&vec->layout);
    size_t act_row = act_item * (size_t)vec->layout.act_dims;
    int agents = vec->layout.agents_per_env;
    for (int u = 0; u < vec->num_units; u++) {
        EnvCore* core = unit_at(vec, u);
        int first = u * desc->lanes;
        int envs_here = num_envs - first < desc->lanes ? num_envs - first : desc->lanes;
        size_t row = (size_t)first * (size_t)agents;
        core->obs = (char*)obs + row * obs_row;
        core->actions = (char*)actions + row * act_row;
        core->rewards = rewards + row;
        core->terminals = terminals + row;
        core->truncations = truncations + row;
        core->masks = vec->masks + row;
        core->num_envs = envs_here;
        core->env_index = first;
        desc->init(core, vec->config);
    }
    for (int u = 0; u < vec->num_units; u++) {
        if (((EnvCore*)unit_at(vec, u))->init_failed) {  // out of memory: undo everything
            sf_vec_destroy(vec);
            return NULL;
        }
    }
    if (num_threads > vec->num_units) num_threads = vec->num_units;
    vec->num_threads = num_threads < 1 ? 1 : num_threads;
    if (vec->num_threads > 1) {
        vec->pool = pool_create(vec, vec->num_threads);
        if (!vec->pool) vec->num_threads = 1;
        else vec->num_threads = vec->pool->num_threads;
    }
    sf_vec_reset(vec, 1, seed);
    return vec;
}

void sf_vec_destroy(VecEnv* vec) {
    if (!vec) return;
    if (vec->pool) pool_destroy(vec->pool);
    if (vec->desc->close)
        for (int u = 0; u < vec->num_units; u++) vec->desc->close(unit_at(vec, u));
    free(vec->units);
    if (vec->owns_masks) free(vec->masks);
    free(vec);
}

void sf_vec_reset(VecEnv* vec, int reseed, uint64_t seed) {
    if (reseed) vec->seed = seed;
    memset(vec->masks, 1, (size_t)vec->num_rows);  // before the envs' resets, which may clear rows
    for (int u = 0; u < vec->num_units; u++) {
        EnvCore* core = unit_at(vec, u);
        if (reseed) sf_rng_seed(&core->rng, vec->seed, (uint64_t)core->env_index);
        memset(&core->stats, 0, sizeof(core->stats));
        vec->desc->reset(core);
    }
    memset(vec->rewards, 0, sizeof(float) * (size_t)vec->num_rows);
    memset(vec->terminals, 0, (size_t)vec->num_rows);
    memset(vec->truncations, 0, (size_t)vec->num_rows);
}

long sf_vec_check_actions(const VecEnv* vec) {
    const EnvLayout* l = &vec->layout;
    const long rows = vec->num_rows, dims = l->act_dims;
    if (l->act_type == SF_ACT_BOX) {
        const float* a = vec->actions;
        int bad = 0;
        for (long i = 0; i < rows * dims; i++) bad |= !isfinite(a[i]);
        if (!bad) return -1;
        for (long i = 0; i < rows * dims; i++) if (!isfinite(a[i])) return i / dims;
        return -1;
    }
    const int32_t* a = vec->actions;
    if (dims == 1) {
        // One unsigned compare catches negatives too.
        const uint32_t n = (uint32_t)l->act_n[0];
        int bad = 0;
        for (long i = 0; i < rows; i++) bad |= (uint32_t)a[i] >= n;
        if (!bad) return -1;
        for (long i = 0; i < rows; i++) if ((uint32_t)a[i] >= n) return i;
        return -1;
    }
    for (long i = 0; i < rows; i++)
        for (long d = 0; d < dims; d++)
            if ((uint32_t)a[i * dims + d] >= (uint32_t)l->act_n[d]) return i;
    return -1;
}

void sf_vec_step(VecEnv* vec) {
    if (vec->pool) pool_step(vec->pool);
    else vec->desc->step_units(vec->units, vec->num_units);
}

void sf_vec_drain_stats(VecEnv* vec, EpisodeStats* out) {
    memset(out, 0, sizeof(*out));
    for (int u = 0; u < vec->num_units; u++) {
        EpisodeStats* s = &((EnvCore*)unit_at(vec, u))->stats;
        if (s->episodes == 0) continue;
        out->episodes += s->episodes;
        out->episode_return += s->episode_return;
        out->episode_length += s->episode_length;
        out->score += s->score;
        for (int k = 0; k < SF_MAX_EXTRA_STATS; k++) out->extra[k] += s->extra[k];
        memset(s, 0, sizeof(*s));
    }
}

void sf_vec_render(const VecEnv* vec, int env, uint8_t* rgb) {
    vec->desc->render(unit_at(vec, env / vec->desc->lanes), env % vec->desc->lanes, rgb);
}

void sf_vec_get_state(const VecEnv* vec, int env, double* out) {
    vec->desc->get_state(unit_at(vec, env / vec->desc->lanes), env % vec->desc->lanes, out);
}

void sf_vec_set_state(VecEnv* vec, int env, const double* in) {
    vec->desc->set_state(unit_at(vec, env / vec->desc->lanes), env % vec->desc->lanes, in);
}
