// mmo: agents (lives and their stats, spawning and death, xp and levels, gathering, combat,
// items, the per-tick action and upkeep). Included by mmo.h after mmo_map.h and before mmo_npc.h,
// which calls mmo_kill_agent; calls mmo_kill_npc from mmo_npc.h through a forward declaration.
// Not standalone.
#ifndef SAILFISH_MMO_AGENT_H
#define SAILFISH_MMO_AGENT_H

static void mmo_log_life(Mmo* env, MmoAgent* a) {
    EpisodeStats* s = &env->core.stats;
    sf_log_episode(s, a->ret, (float)a->lifetime, (float)(a->combat_level + a->forage_level));
    const double v[MMO_NUM_EXTRA] = {a->lifetime, a->food_gathered, a->water_gathered, a->combat_level,
                                     a->forage_level, a->npc_kills, a->player_kills, a->damage_dealt,
                                     a->damage_taken};
    for (int k = 0; k < MMO_NUM_EXTRA; k++) s->extra[k] += v[k];
}

static void mmo_place_agent(Mmo* env, int i, int idx) {
    MmoAgent* a = &env->agents[i];
    int life = a->life_id + 1;
    memset(a, 0, sizeof(*a));
    a->life_id = life;
    a->x = (int16_t)(idx % env->stride);
    a->y = (int16_t)(idx / env->stride);
    a->health = a->food = a->water = MMO_MAX_STAT;
    a->combat_level = a->forage_level = 1;
    a->alive = 1;
    env->occ[idx] = (uint16_t)(1 + i);
}

// A free spawn tile from a random start; -1 if every one is taken.
static int mmo_free_spawn(Mmo* env) {
    int n = env->num_spawns, start = (int)sf_rng_below(&env->core.rng, (uint32_t)n);
    for (int k = 0; k < n; k++) {
        int idx = env->spawns[(start + k) % n];
        if (!env->occ[idx]) return idx;
    }
    return -1;
}

static void mmo_remove_agent(Mmo* env, int i) {
    MmoAgent* a = &env->agents[i];
    int idx = mmo_idx(env, a->x, a->y);
    env->occ[idx] = 0;
    uint8_t* c = mmo_cell(env, idx);
    c[MMO_CH_AGENT_HP] = c[MMO_CH_AGENT_LEVEL] = 0;
    a->alive = 0;
    a->respawn_wait = env->respawn_delay;
}

static void mmo_kill_agent(Mmo* env, int i) {
    MmoAgent* a = &env->agents[i];
    a->health = 0;
    env->core.rewards[i] += env->reward_death;
    a->ret += env->reward_death;
    env->core.terminals[i] = 1;
    mmo_log_life(env, a);
    mmo_remove_agent(env, i);
}

static void mmo_add_xp(Mmo* env, int i, int combat, int xp) {
    MmoAgent* a = &env->agents[i];
    int16_t* pxp = combat ? &a->combat_xp : &a->forage_xp;
    uint8_t* level = combat ? &a->combat_level : &a->forage_level;
    if (*level >= MMO_MAX_LEVEL) return;
    *pxp = (int16_t)(*pxp + xp);
    while (*level < MMO_MAX_LEVEL && *pxp >= 10 * *level) {
        *pxp = (int16_t)(*pxp - 10 * *level);
        (*level)++;
        env->core.rewards[i] += env->reward_level;
        a->ret += env->reward_level;
    }
    if (*level >= MMO_MAX_LEVEL) *pxp = 0;
}

// Reward, stats and xp follow the points actually gained, so topping up a full stomach or
// bladder every tick pays next to nothing (a flat reward per gather taught agents to stand at a
// lake drinking each tick while they starved).
static void mmo_gather(Mmo* env, int i, int16_t* stat, int32_t* counter) {
    MmoAgent* a = &env->agents[i];
    int amount = 20 + 5 * (a->forage_level - 1);
    int gained = *stat + amount > MMO_MAX_STAT ? MMO_MAX_STAT - *stat : amount;
    *stat = (int16_t)(*stat + gained);
    *counter += gained;
    const float r = env->reward_forage * (float)gained / (float)MMO_MEAL;
    env->core.rewards[i] += r;
    a->ret += r;
    mmo_add_xp(env, i, 0, gained / 10);
}

static void mmo_kill_npc(Mmo* env, int j);

// Agent `i` hits whatever holds tile `idx` (nothing if empty or itself).
static void mmo_agent_hits(Mmo* env, int i, int idx, int ranged) {
    int id = env->occ[idx];
    if (!id || id == 1 + i) return;
    MmoAgent* a = &env->agents[i];
    int damage = 10 + 2 * (a->combat_level - 1) + 5 * a->weapon;
    if (ranged) damage /= 2;
    a->damage_dealt += damage;
    if (id < MMO_NPC_ID0) {
        int v = id - 1;
        MmoAgent* b = &env->agents[v];
        b->health = (int16_t)(b->health - damage);
        b->damage_taken += damage;
        mmo_add_xp(env, i, 1, 1);
        if (b->health <= 0) {
            a->player_kills++;
            mmo_add_xp(env, i, 1, 2 * b->combat_level);
            mmo_kill_agent(env, v);
        }
    } else {
        int j = id - MMO_NPC_ID0;
        MmoNpc* n = &env->npcs[j];
        n->health = (int16_t)(n->health - damage);
        mmo_add_xp(env, i, 1, 1);
        if (n->tier != MMO_PASSIVE) { n->target = (int16_t)i; n->target_life = a->life_id; }
        if (n->health <= 0) {
            a->npc_kills++;
            mmo_add_xp(env, i, 1, 2 * n->level);
            mmo_kill_npc(env, j);
        }
    }
}

// The nearest occupied tile within MMO_RANGE of agent i (first in row-major order among the
// nearest), or -1.
static int mmo_ranged_target(const Mmo* env, int i) {
    const MmoAgent* a = &env->agents[i];
    int best = -1, best_d = MMO_RANGE + 1;
    for (int dy = -MMO_RANGE; dy <= MMO_RANGE; dy++) {
        const uint16_t* row = env->occ + mmo_idx(env, a->x, a->y + dy);
        for (int dx = -MMO_RANGE; dx <= MMO_RANGE; dx++) {
            int d = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
            if (d && d < best_d && row[dx]) { best_d = d; best = mmo_idx(env, a->x + dx, a->y + dy); }
        }
    }
    return best;
}

static void mmo_use_item(MmoAgent* a, int slot) {
    uint8_t item = a->inventory[slot];
    if (item == MMO_POTION) {
        a->health = (int16_t)(a->health + MMO_POTION_HEAL > MMO_MAX_STAT ? MMO_MAX_STAT : a->health + MMO_POTION_HEAL);
        a->inventory[slot] = MMO_ITEM_NONE;
    } else if (item != MMO_ITEM_NONE) {
        a->inventory[slot] = a->weapon;
        a->weapon = item;
    }
}

static void mmo_agent_act(Mmo* env, int i) {
    MmoAgent* a = &env->agents[i];
    const int32_t* act = (const int32_t*)env->core.actions + 3 * i;
    a->lifetime++;
    if (act[2] > 0) mmo_use_item(a, act[2] - 1);
    int here = mmo_idx(env, a->x, a->y);
    if (act[0] > 0) {
        int dir = act[0] - 1;
        a->facing = (uint8_t)dir;
        int to = here + mmo_dx[dir] + mmo_dy[dir] * env->stride;
        uint8_t* c = mmo_cell(env, to);
        if (c[MMO_CH_TERRAIN] == MMO_WATER) {
            if (a->water < MMO_MAX_STAT) mmo_gather(env, i, &a->water, &a->water_gathered);
        } else if (mmo_walkable(c[MMO_CH_TERRAIN]) && !env->occ[to]) {
            uint8_t* old = mmo_cell(env, here);
            old[MMO_CH_AGENT_HP] = old[MMO_CH_AGENT_LEVEL] = 0;
            env->occ[here] = 0;
            env->occ[to] = (uint16_t)(1 + i);
            a->x = (int16_t)(a->x + mmo_dx[dir]);
            a->y = (int16_t)(a->y + mmo_dy[dir]);
            here = to;
            if (c[MMO_CH_ITEM]) {
                for (int s = 0; s < MMO_INVENTORY; s++) {
                    if (a->inventory[s] == MMO_ITEM_NONE) {
                        a->inventory[s] = c[MMO_CH_ITEM];
                        c[MMO_CH_ITEM] = MMO_ITEM_NONE;
                        break;
                    }
                }
            }
        }
    }
    uint8_t* c = mmo_cell(env, here);
    if (c[MMO_CH_FOOD] && a->food < MMO_MAX_STAT) {
        c[MMO_CH_FOOD] = 0;
        mmo_gather(env, i, &a->food, &a->food_gathered);
        if (env->regrow_count < env->regrow_cap) {
            int slot = (env->regrow_head + env->regrow_count) % env->regrow_cap;
            env->regrow[2 * slot] = here;
            env->regrow[2 * slot + 1] = env->tick + env->food_regrow;
            env->regrow_count++;
        }
    }
    if (act[1] == 1) mmo_agent_hits(env, i, here + mmo_dx[a->facing] + mmo_dy[a->facing] * env->stride, 0);
    else if (act[1] == 2) {
        int target = mmo_ranged_target(env, i);
        if (target >= 0) mmo_agent_hits(env, i, target, 1);
    }
}

static void mmo_upkeep(Mmo* env, int i) {
    MmoAgent* a = &env->agents[i];
    a->food = (int16_t)(a->food > env->food_drain ? a->food - env->food_drain : 0);
    a->water = (int16_t)(a->water > env->water_drain ? a->water - env->water_drain : 0);
    int damage = (a->food == 0) * env->starve_damage + (a->water == 0) * env->starve_damage;
    if (damage) {
        a->health = (int16_t)(a->health - damage);
        a->damage_taken += damage;
    } else if (a->food >= MMO_MAX_STAT / 2 && a->water >= MMO_MAX_STAT / 2) {
        a->health = (int16_t)(a->health + env->regen > MMO_MAX_STAT ? MMO_MAX_STAT : a->health + env->regen);
    }
    if (a->health <= 0) {
        mmo_kill_agent(env, i);
        return;
    }
    env->core.rewards[i] += env->reward_survival;
    a->ret += env->reward_survival;
}

#endif
