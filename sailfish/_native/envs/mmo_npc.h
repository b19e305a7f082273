// mmo: NPCs (spawning, death and drops, scripted behaviour). Included by mmo.h; not standalone.
#ifndef SAILFISH_MMO_NPC_H
#define SAILFISH_MMO_NPC_H

// Tier and level from the distance to the map edge: stronger towards the centre.
static void mmo_npc_kind(const Mmo* env, int x, int y, uint8_t* tier, uint8_t* level) {
    int d = x < y ? x : y;
    if (env->size - 1 - x < d) d = env->size - 1 - x;
    if (env->size - 1 - y < d) d = env->size - 1 - y;
    int tenths = d * 20 / env->size;  // 0..9
    *tier = (uint8_t)(tenths < 3 ? MMO_PASSIVE : tenths < 6 ? MMO_NEUTRAL : MMO_HOSTILE);
    *level = (uint8_t)(1 + tenths);
}

static void mmo_place_npc(Mmo* env, int j, int idx) {
    MmoNpc* n = &env->npcs[j];
    n->x = (int16_t)(idx % env->stride);
    n->y = (int16_t)(idx / env->stride);
    mmo_npc_kind(env, n->x - env->pad, n->y - env->pad, &n->tier, &n->level);
    n->health = n->max_health = (int16_t)(20 + 8 * n->level);
    n->alive = 1;
    n->target = -1;
    n->respawn_wait = 0;
    env->occ[idx] = (uint16_t)(MMO_NPC_ID0 + j);
}

static inline int mmo_npc_can_enter(const Mmo* env, int idx) {
    int t = mmo_cell(env, idx)[MMO_CH_TERRAIN];
    return (t == MMO_GRASS || t == MMO_FOREST) && !env->occ[idx];
}

// Places NPC j on a random free tile; if a few draws find none it retries next tick.
static void mmo_spawn_npc(Mmo* env, int j) {
    for (int tries = 0; tries < 16; tries++) {
        int x = 1 + (int)sf_rng_below(&env->core.rng, (uint32_t)(env->size - 2));
        int y = 1 + (int)sf_rng_below(&env->core.rng, (uint32_t)(env->size - 2));
        int idx = mmo_idx(env, x + env->pad, y + env->pad);
        if (mmo_npc_can_enter(env, idx)) { mmo_place_npc(env, j, idx); return; }
    }
    env->npcs[j].alive = 0;
    env->npcs[j].respawn_wait = 1;
}

static void mmo_remove_npc(Mmo* env, int j) {
    MmoNpc* n = &env->npcs[j];
    int idx = mmo_idx(env, n->x, n->y);
    uint8_t* c = mmo_cell(env, idx);
    c[MMO_CH_NPC_TIER] = c[MMO_CH_NPC_HP] = 0;
    env->occ[idx] = 0;
    n->alive = 0;
    n->respawn_wait = env->npc_respawn_delay + 1;  // the NPC phase of the death tick counts one
}

static void mmo_kill_npc(Mmo* env, int j) {
    MmoNpc* n = &env->npcs[j];
    uint8_t* c = mmo_cell(env, mmo_idx(env, n->x, n->y));
    if (sf_rng_uniform(&env->core.rng) < env->drop_rate && !c[MMO_CH_ITEM]) {
        c[MMO_CH_ITEM] = n->tier == MMO_PASSIVE ? MMO_POTION
                       : n->tier == MMO_NEUTRAL ? (uint8_t)(1 + (n->level >= 5))
                                                : (uint8_t)(2 + (n->level >= 8));
    }
    mmo_remove_npc(env, j);
}

static int mmo_npc_step(Mmo* env, int j, int dir) {
    MmoNpc* n = &env->npcs[j];
    int from = mmo_idx(env, n->x, n->y), to = from + mmo_dx[dir] + mmo_dy[dir] * env->stride;
    if (!mmo_npc_can_enter(env, to)) return 0;
    uint8_t* c = mmo_cell(env, from);
    c[MMO_CH_NPC_TIER] = c[MMO_CH_NPC_HP] = 0;
    env->occ[from] = 0;
    env->occ[to] = (uint16_t)(MMO_NPC_ID0 + j);
    n->x = (int16_t)(n->x + mmo_dx[dir]);
    n->y = (int16_t)(n->y + mmo_dy[dir]);
    return 1;
}

// The nearest agent within MMO_NPC_SIGHT (row-major order among the nearest), or -1.
static int mmo_npc_look(const Mmo* env, const MmoNpc* n) {
    int best = -1, best_d = MMO_NPC_SIGHT + 1;
    for (int dy = -MMO_NPC_SIGHT; dy <= MMO_NPC_SIGHT; dy++) {
        const uint16_t* row = env->occ + mmo_idx(env, n->x, n->y + dy);
        for (int dx = -MMO_NPC_SIGHT; dx <= MMO_NPC_SIGHT; dx++) {
            int id = row[dx];
            if (!id || id >= MMO_NPC_ID0) continue;
            int d = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
            if (d < best_d) { best_d = d; best = id - 1; }
        }
    }
    return best;
}

static void mmo_npc_act(Mmo* env, int j) {
    MmoNpc* n = &env->npcs[j];
    if (!n->alive) {
        if (n->respawn_wait > 0 && --n->respawn_wait > 0) return;
        mmo_spawn_npc(env, j);
        return;
    }
    if ((env->tick + j) & 1) return;  // NPCs act every other tick: slower than agents
    if (n->target >= 0) {
        const MmoAgent* a = &env->agents[n->target];
        int d = abs(a->x - n->x) > abs(a->y - n->y) ? abs(a->x - n->x) : abs(a->y - n->y);
        if (!a->alive || a->life_id != n->target_life || d > MMO_NPC_LEASH) n->target = -1;
    }
    if (n->target < 0 && n->tier == MMO_HOSTILE) {
        int t = mmo_npc_look(env, n);
        if (t >= 0) { n->target = (int16_t)t; n->target_life = env->agents[t].life_id; }
    }
    if (n->target < 0) {
        uint32_t r = sf_rng_below(&env->core.rng, 8);
        if (r < 4) mmo_npc_step(env, j, (int)r);
        return;
    }
    const int t = n->target;
    MmoAgent* a = &env->agents[t];
    int dx = a->x - n->x, dy = a->y - n->y;
    if (abs(dx) + abs(dy) == 1) {
        int damage = n->tier == MMO_HOSTILE ? 3 + 2 * n->level : 2 + n->level;
        a->health = (int16_t)(a->health - damage);
        a->damage_taken += damage;
        if (a->health <= 0) mmo_kill_agent(env, t);
        return;
    }
    int horizontal = dx > 0 ? 1 : 3, vertical = dy > 0 ? 2 : 0;
    int first = abs(dx) >= abs(dy) ? horizontal : vertical, second = first == horizontal ? vertical : horizontal;
    if (!mmo_npc_step(env, j, first) && (first == horizontal ? dy : dx) != 0) mmo_npc_step(env, j, second);
}

#endif
