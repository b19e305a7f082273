// mmo: named state for rule tests and viewers. Included by mmo.h; not standalone.
//
// Per-entity fields address the entity chosen by a cursor: `select` (an agent), `npc_select`
// (an NPC), `tile_x`/`tile_y` (a tile). A set_state call that moves a cursor only moves it (the
// other fields of that group in the same call are ignored, since they hold the previous entity's
// values): select first, then write. Coordinates are map coordinates, 0..map_size-1.
// Read-only fields (written values are ignored): alive_agents, alive_npcs, tile_agent, tile_npc.
// Writing x/y moves a live agent (or NPC) only onto a free in-map tile; writing alive 0 removes
// it quietly (no terminal, no stats), 1 places it at x/y if free, with fresh stats overwritten by
// the fields of the call. Tiles on the spawn ring keep their terrain; spawn terrain cannot be set
// elsewhere. tile_food is kept only on forest.
#ifndef SAILFISH_MMO_STATE_H
#define SAILFISH_MMO_STATE_H

enum {
    MMO_S_TICK, MMO_S_ALIVE_AGENTS, MMO_S_ALIVE_NPCS,
    MMO_S_SELECT, MMO_S_X, MMO_S_Y, MMO_S_ALIVE, MMO_S_HEALTH, MMO_S_FOOD, MMO_S_WATER,
    MMO_S_COMBAT_LEVEL, MMO_S_COMBAT_XP, MMO_S_FORAGE_LEVEL, MMO_S_FORAGE_XP, MMO_S_WEAPON, MMO_S_FACING,
    MMO_S_INV0, MMO_S_INV1, MMO_S_INV2, MMO_S_RESPAWN_WAIT, MMO_S_LIFETIME, MMO_S_NPC_KILLS,
    MMO_S_PLAYER_KILLS, MMO_S_FOOD_GATHERED, MMO_S_WATER_GATHERED, MMO_S_DAMAGE_DEALT, MMO_S_DAMAGE_TAKEN,
    MMO_S_NPC_SELECT, MMO_S_NPC_X, MMO_S_NPC_Y, MMO_S_NPC_ALIVE, MMO_S_NPC_TIER, MMO_S_NPC_LEVEL,
    MMO_S_NPC_HEALTH, MMO_S_NPC_TARGET,
    MMO_S_TILE_X, MMO_S_TILE_Y, MMO_S_TILE_TERRAIN, MMO_S_TILE_FOOD, MMO_S_TILE_ITEM, MMO_S_TILE_AGENT,
    MMO_S_TILE_NPC, MMO_NUM_STATE_FIELDS
};
static const char* const mmo_state_fields[] = {
    "tick", "alive_agents", "alive_npcs",
    "select", "x", "y", "alive", "health", "food", "water",
    "combat_level", "combat_xp", "forage_level", "forage_xp", "weapon", "facing",
    "inv0", "inv1", "inv2", "respawn_wait", "lifetime", "npc_kills",
    "player_kills", "food_gathered", "water_gathered", "damage_dealt", "damage_taken",
    "npc_select", "npc_x", "npc_y", "npc_alive", "npc_tier", "npc_level",
    "npc_health", "npc_target",
    "tile_x", "tile_y", "tile_terrain", "tile_food", "tile_item", "tile_agent",
    "tile_npc"};

// A double to an int in [lo, hi]; NaN gives lo (a cast of NaN would be undefined).
static inline int mmo_clampi(double v, int lo, int hi) {
    if (!(v >= lo)) return lo;
    return v > hi ? hi : (int)v;
}

static void mmo_get_state(const Mmo* env, int lane, double* out) {
    (void)lane;
    memset(out, 0, sizeof(double) * MMO_NUM_STATE_FIELDS);
    if (!env->ok) return;
    const int P = env->pad;
    out[MMO_S_TICK] = env->tick;
    for (int i = 0; i < env->num_agents; i++) out[MMO_S_ALIVE_AGENTS] += env->agents[i].alive;
    for (int j = 0; j < env->num_npcs; j++) out[MMO_S_ALIVE_NPCS] += env->npcs[j].alive;
    const MmoAgent* a = &env->agents[env->select];
    const double agent[] = {env->select, a->x - P, a->y - P, a->alive, a->health, a->food, a->water,
                            a->combat_level, a->combat_xp, a->forage_level, a->forage_xp, a->weapon,
                            a->facing, a->inventory[0], a->inventory[1], a->inventory[2], a->respawn_wait,
                            a->lifetime, a->npc_kills, a->player_kills, a->food_gathered, a->water_gathered,
                            a->damage_dealt, a->damage_taken};
    memcpy(out + MMO_S_SELECT, agent, sizeof(agent));
    const MmoNpc* n = &env->npcs[env->npc_select];
    const double npc[] = {env->npc_select, n->x - P, n->y - P, n->alive, n->tier, n->level, n->health,
                          n->target};
    memcpy(out + MMO_S_NPC_SELECT, npc, sizeof(npc));
    int idx = mmo_idx(env, env->tile_x + P, env->tile_y + P), id = env->occ[idx];
    const uint8_t* c = mmo_cell(env, idx);
    const double tile[] = {env->tile_x, env->tile_y, c[MMO_CH_TERRAIN], c[MMO_CH_FOOD], c[MMO_CH_ITEM],
                           id && id < MMO_NPC_ID0 ? id - 1 : -1, id >= MMO_NPC_ID0 ? id - MMO_NPC_ID0 : -1};
    memcpy(out + MMO_S_TILE_X, tile, sizeof(tile));
}

static void mmo_set_agent_state(Mmo* env, const double* in) {
    const int P = env->pad, last = env->size - 1, i = env->select;
    MmoAgent* a = &env->agents[i];
    int x = mmo_clampi(in[MMO_S_X], 0, last) + P, y = mmo_clampi(in[MMO_S_Y], 0, last) + P;
    int to = mmo_idx(env, x, y), alive = in[MMO_S_ALIVE] != 0, removed = a->alive && !alive;
    if (removed) {
        mmo_remove_agent(env, i);
    } else if (!a->alive && alive && !env->occ[to]) {
        mmo_place_agent(env, i, to);
    } else if (a->alive && (x != a->x || y != a->y) && !env->occ[to]) {
        int from = mmo_idx(env, a->x, a->y);
        uint8_t* c = mmo_cell(env, from);
        c[MMO_CH_AGENT_HP] = c[MMO_CH_AGENT_LEVEL] = 0;
        env->occ[from] = 0;
        env->occ[to] = (uint16_t)(1 + i);
        a->x = (int16_t)x; a->y = (int16_t)y;
    }
    a->health = (int16_t)mmo_clampi(in[MMO_S_HEALTH], a->alive, MMO_MAX_STAT);
    a->food = (int16_t)mmo_clampi(in[MMO_S_FOOD], 0, MMO_MAX_STAT);
    a->water = (int16_t)mmo_clampi(in[MMO_S_WATER], 0, MMO_MAX_STAT);
    a->combat_level = (uint8_t)mmo_clampi(in[MMO_S_COMBAT_LEVEL], 1, MMO_MAX_LEVEL);
    a->combat_xp = (int16_t)mmo_clampi(in[MMO_S_COMBAT_XP], 0, 10 * a->combat_level - 1);
    a->forage_level = (uint8_t)mmo_clampi(in[MMO_S_FORAGE_LEVEL], 1, MMO_MAX_LEVEL);
    a->forage_xp = (int16_t)mmo_clampi(in[MMO_S_FORAGE_XP], 0, 10 * a->forage_level - 1);
    a->weapon = (uint8_t)mmo_clampi(in[MMO_S_WEAPON], 0, 3);
    a->facing = (uint8_t)mmo_clampi(in[MMO_S_FACING], 0, 3);
    for (int s = 0; s < MMO_INVENTORY; s++) a->inventory[s] = (uint8_t)mmo_clampi(in[MMO_S_INV0 + s], 0, MMO_POTION);
    if (!removed) a->respawn_wait = mmo_clampi(in[MMO_S_RESPAWN_WAIT], 0, 1000000);
    a->lifetime = mmo_clampi(in[MMO_S_LIFETIME], 0, 1 << 30);
    int32_t* counters[] = {&a->npc_kills, &a->player_kills, &a->food_gathered, &a->water_gathered,
                           &a->damage_dealt, &a->damage_taken};
    for (int k = 0; k < 6; k++) *counters[k] = mmo_clampi(in[MMO_S_NPC_KILLS + k], 0, 1 << 30);
}

static void mmo_set_npc_state(Mmo* env, const double* in) {
    const int P = env->pad, last = env->size - 1, j = env->npc_select;
    MmoNpc* n = &env->npcs[j];
    int x = mmo_clampi(in[MMO_S_NPC_X], 0, last) + P, y = mmo_clampi(in[MMO_S_NPC_Y], 0, last) + P;
    int to = mmo_idx(env, x, y), alive = in[MMO_S_NPC_ALIVE] != 0;
    if (n->alive && !alive) {
        mmo_remove_npc(env, j);
    } else if (!n->alive && alive && !env->occ[to]) {
        mmo_place_npc(env, j, to);
    } else if (n->alive && (x != n->x || y != n->y) && !env->occ[to]) {
        int from = mmo_idx(env, n->x, n->y);
        uint8_t* c = mmo_cell(env, from);
        c[MMO_CH_NPC_TIER] = c[MMO_CH_NPC_HP] = 0;
        env->occ[from] = 0;
        env->occ[to] = (uint16_t)(MMO_NPC_ID0 + j);
        n->x = (int16_t)x; n->y = (int16_t)y;
    }
    n->tier = (uint8_t)mmo_clampi(in[MMO_S_NPC_TIER], MMO_PASSIVE, MMO_HOSTILE);
    n->level = (uint8_t)mmo_clampi(in[MMO_S_NPC_LEVEL], 1, MMO_MAX_LEVEL);
    n->max_health = (int16_t)(20 + 8 * n->level);
    n->health = (int16_t)mmo_clampi(in[MMO_S_NPC_HEALTH], 1, 30000);
    if (n->health > n->max_health) n->max_health = n->health;
    n->target = (int16_t)mmo_clampi(in[MMO_S_NPC_TARGET], -1, env->num_agents - 1);
    if (n->target >= 0) n->target_life = env->agents[n->target].life_id;
}

static void mmo_set_tile_state(Mmo* env, const double* in) {
    const int P = env->pad, last = env->size - 1;
    int x = env->tile_x, y = env->tile_y;
    uint8_t* c = mmo_cell(env, mmo_idx(env, x + P, y + P));
    int on_ring = x == 0 || y == 0 || x == last || y == last;
    if (!on_ring) c[MMO_CH_TERRAIN] = (uint8_t)mmo_clampi(in[MMO_S_TILE_TERRAIN], MMO_GRASS, MMO_STONE);
    c[MMO_CH_FOOD] = c[MMO_CH_TERRAIN] == MMO_FOREST && in[MMO_S_TILE_FOOD] != 0;
    c[MMO_CH_ITEM] = (uint8_t)mmo_clampi(in[MMO_S_TILE_ITEM], 0, MMO_POTION);
}

static void mmo_set_state(Mmo* env, int lane, const double* in) {
    (void)lane;
    if (!env->ok) return;
    const int last = env->size - 1;
    env->tick = mmo_clampi(in[MMO_S_TICK], 0, env->horizon);
    int select = mmo_clampi(in[MMO_S_SELECT], 0, env->num_agents - 1);
    if (select != env->select) env->select = select;
    else mmo_set_agent_state(env, in);
    if (env->num_npcs) {
        int npc = mmo_clampi(in[MMO_S_NPC_SELECT], 0, env->num_npcs - 1);
        if (npc != env->npc_select) env->npc_select = npc;
        else mmo_set_npc_state(env, in);
    }
    int tx = mmo_clampi(in[MMO_S_TILE_X], 0, last), ty = mmo_clampi(in[MMO_S_TILE_Y], 0, last);
    if (tx != env->tile_x || ty != env->tile_y) { env->tile_x = tx; env->tile_y = ty; }
    else mmo_set_tile_state(env, in);
    mmo_write_all_obs(env);
}

#endif
