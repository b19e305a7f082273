// mmo: a many-agent survival world in the spirit of Neural MMO. One env = one world of
// map_size x map_size tiles shared by `agents` agents (one row each) and `npcs` scripted NPCs.
//
// World (mmo_map.h): terrain from two smooth noise fields per world seed: grass, forest (holds
// food that is eaten and regrows food_regrow ticks later), water (impassable; drunk by moving
// into it), stone (impassable), and spawn tiles on the map's outermost ring (the ring inside it
// is kept passable). Same seed, same map. The world runs `horizon` ticks, then every row is
// truncated and a new map is generated.
//
// Agents (mmo_agent.h): health, food and water in [0, 100]; combat and foraging levels 1..10
// rising with experience (level L -> L+1 at 10 L xp); an equipped weapon (tier 0..3) and 3
// inventory slots. Each tick food and water drop by food_drain / water_drain; at 0 food, and
// again at 0 water, health drops by starve_damage; with food and water both >= 50 health
// regenerates by regen.
//
// Actions: MultiDiscrete [5, 3, 4], read in this order per agent:
//   use   0 none, k = 1..3: use inventory slot k-1 (a weapon is equipped, swapping with the
//         equipped one; a potion restores 50 health and is consumed)
//   move  0 stay, 1 N (y-1), 2 E (x+1), 3 S (y+1), 4 W (x-1). The agent faces the direction
//         even when blocked. Into water: drinks 20 + 5 (forage level - 1) and stays. Into stone,
//         the map edge or an occupied tile: nothing. Onto an item: picked up if a slot is free.
//         Standing (after the move) on forest with food, with food < 100: eats 20 + 5 (level-1).
//   attack 0 none, 1 melee the faced tile, 2 ranged: the nearest agent or NPC within Chebyshev
//         distance 2 (ties: row-major scan order). Melee damage 10 + 2 (combat level - 1) +
//         5 weapon tier; ranged half of that.
// Agents act in index order, then NPCs in index order, then upkeep (drain, starvation, regen),
// regrowth and respawns: a world is a pure function of its seed and actions, whatever the
// threads. An occupancy grid serves movement, collisions and targeting (no O(N^2)).
//
// NPCs (mmo_npc.h): tier by distance from the edge (outer 30%: passive, next 30%: neutral,
// centre: hostile) and level 1..10 rising towards the centre; health 20 + 8 level. They act every
// other tick (alternating by index) and never enter spawn tiles. Passive ones wander. Neutral ones
// wander until hit, then chase and strike their attacker. Hostile ones chase the nearest agent
// within 3 tiles (and any attacker). A chase ends beyond 6 tiles. Strikes hit 4-adjacent agents
// for 2 + level (neutral) or 3 + 2 level (hostile). A killed NPC gives its killer 2 level combat
// xp, drops an item on its tile with probability drop_rate (passive: potion; others: a weapon
// whose tier rises with the NPC's level), and respawns npc_respawn_delay ticks after its death
// tick (0: the same tick) on a random free grass or forest tile. Killing an agent gives 2 x its
// combat level xp; every hit gives 1 xp.
//
// Death: reward_death and terminal = 1 on the death step; from that step's observation on, the
// row is all zeros (alive = 0), its mask 0 and its actions ignored until it respawns respawn_delay steps after the death step (0: in the same step) at a
// random free spawn tile with fresh stats.
// Reward per agent per tick: reward_survival while alive, + reward_forage per 20 points of food
// or water gained (a gather that tops a stat up to 100 earns its share), + reward_level per
// level gained, + reward_death (<= 0) on death. Gathering gives 1 forage xp per 10 points.
//
// Observation (uint8), one row per agent: an egocentric window of window x window tiles centred
// on the agent, cell-major with MMO_CHANNELS channels per cell, then MMO_NUM_STATS own stats:
//   obs[((dy + r) * window + (dx + r)) * 7 + c], r = window / 2, c =
//     0 terrain: 0 outside the map, 1 grass, 2 forest, 3 water, 4 stone, 5 spawn
//     1 food: 1 where a forest tile holds food
//     2 agent health 1..100 (0: no agent; the centre is the agent itself)
//     3 that agent's combat level
//     4 NPC tier + 1 (1 passive, 2 neutral, 3 hostile; 0: none)
//     5 NPC health, percent of its maximum
//     6 item on the ground: 0 none, 1..3 weapon tier, 4 potion
//   then at window * window * 7: alive, health, food, water, combat level, forage level,
//   weapon tier, facing (0 N 1 E 2 S 3 W), inventory slots 0..2 (item codes), x * 255 /
//   (map_size - 1), y * 255 / (map_size - 1).
// A dead agent's row is all zeros: alive (and the mask buffer) tells a learner to skip it.
//
// Episodes are agent lives: return, length = lifetime, score = combat + forage level reached;
// extra stats per life as listed in mmo_extra_stats (food_gathered and water_gathered count
// points gained, not gathers).
//
// Memory: init allocates the map (padded by the view radius so windows never test bounds),
// the occupancy grid, agents, NPCs and the regrowth queue; close frees them; step allocates
// nothing. The default config is small (the generic tests keep whole traces of every row); the
// issue's sizes are config values, e.g. map_size=128, agents=128, npcs=128, window=11.
#ifndef SAILFISH_MMO_H
#define SAILFISH_MMO_H
#include <stdlib.h>

#include "../core.h"

#define MMO_MAX_MAP 1024
#define MMO_MAX_AGENTS 1024
#define MMO_MAX_NPCS 4096
#define MMO_MAX_WINDOW 31
#define MMO_NPC_SIGHT 3     // hostile NPCs notice agents within this Chebyshev distance
#define MMO_NPC_LEASH 6     // and give up a chase beyond this one
#define MMO_RANGE 2         // ranged attack reach
#define MMO_MAX_STAT 100
#define MMO_MAX_LEVEL 10
#define MMO_INVENTORY 3
#define MMO_POTION_HEAL 50
#define MMO_MEAL 20         // points of food or water one gather gives at forage level 1
#define MMO_NPC_ID0 (MMO_MAX_AGENTS + 1)  // occupancy: 0 empty, 1 + agent, MMO_NPC_ID0 + npc

enum {
    MMO_MAP_SIZE, MMO_AGENTS, MMO_NPCS, MMO_WINDOW, MMO_HORIZON, MMO_RESPAWN_DELAY,
    MMO_NPC_RESPAWN_DELAY, MMO_FOOD_REGROW, MMO_FOOD_DRAIN, MMO_WATER_DRAIN, MMO_STARVE_DAMAGE,
    MMO_REGEN, MMO_DROP_RATE, MMO_REWARD_SURVIVAL, MMO_REWARD_FORAGE, MMO_REWARD_LEVEL,
    MMO_REWARD_DEATH, MMO_RENDER_CELLS, MMO_RENDER_FOLLOW, MMO_NUM_PARAMS
};
static const ParamDesc mmo_params[] = {
    {"map_size", 128, 16, MMO_MAX_MAP, 1, "side of the square map in tiles"},
    {"agents", 128, 1, MMO_MAX_AGENTS, 1, "agents per world = rows per env"},
    {"npcs", 128, 0, MMO_MAX_NPCS, 1, "NPCs per world"},
    {"window", 11, 3, MMO_MAX_WINDOW, 1, "side of the egocentric observation window (odd)"},
    {"horizon", 1024, 16, 1e7, 1, "ticks before the world truncates and regenerates"},
    {"respawn_delay", 8, 0, 1e5, 1, "steps after its death step until an agent respawns"},
    {"npc_respawn_delay", 32, 0, 1e5, 1, "ticks until a killed NPC reappears"},
    {"food_regrow", 64, 1, 1e6, 1, "ticks until eaten forest food grows back"},
    {"food_drain", 1, 0, 100, 1, "food lost per tick"},
    {"water_drain", 1, 0, 100, 1, "water lost per tick"},
    {"starve_damage", 5, 0, 100, 1, "health lost per tick at 0 food, and again at 0 water"},
    {"regen", 2, 0, 100, 1, "health regained per tick with food and water both >= 50"},
    {"drop_rate", 0.5, 0, 1, 0, "probability that a killed NPC drops an item"},
    {"reward_survival", 0.01, 0, 1, 0, "reward per tick alive"},
    {"reward_forage", 0.1, 0, 10, 0, "reward per 20 points of food or water gained (pro rata)"},
    {"reward_level", 0.5, 0, 10, 0, "reward per level gained"},
    {"reward_death", -1, -100, 0, 0, "reward on the death step (a penalty: <= 0)"},
    {"render_cells", 0, 0, MMO_MAX_MAP, 1, "side of the rendered crop in tiles; 0: the map, at most 256"},
    {"render_follow", -1, -1, MMO_MAX_AGENTS - 1, 1, "agent the render crop follows; -1: the map centre"},
};

static const char* const mmo_extra_stats[] = {
    "lifetime", "food_gathered", "water_gathered", "combat_level", "forage_level",
    "npc_kills", "player_kills", "damage_dealt", "damage_taken"};
#define MMO_NUM_EXTRA 9

enum { MMO_VOID = 0, MMO_GRASS, MMO_FOREST, MMO_WATER, MMO_STONE, MMO_SPAWN };
enum { MMO_CH_TERRAIN, MMO_CH_FOOD, MMO_CH_AGENT_HP, MMO_CH_AGENT_LEVEL, MMO_CH_NPC_TIER,
       MMO_CH_NPC_HP, MMO_CH_ITEM, MMO_CHANNELS };
enum { MMO_PASSIVE = 0, MMO_NEUTRAL = 1, MMO_HOSTILE = 2 };
enum { MMO_ITEM_NONE = 0, MMO_POTION = 4 };
#define MMO_NUM_STATS 13

typedef struct {
    int16_t x, y;  // padded coordinates
    int16_t health, food, water, combat_xp, forage_xp;
    uint8_t alive, facing, weapon, combat_level, forage_level, inventory[MMO_INVENTORY];
    int32_t respawn_wait, lifetime, life_id;
    float ret;
    int32_t food_gathered, water_gathered, npc_kills, player_kills, damage_dealt, damage_taken;
} MmoAgent;

typedef struct {
    int16_t x, y;
    int16_t health, max_health;
    uint8_t alive, tier, level;
    int16_t target;  // agent being chased, -1 none
    int32_t target_life, respawn_wait;
} MmoNpc;

typedef struct {
    EnvCore core;
    // config
    int size, num_agents, num_npcs, window, horizon, respawn_delay, npc_respawn_delay, food_regrow;
    int food_drain, water_drain, starve_damage, regen, render_cells, render_follow;
    float drop_rate, reward_survival, reward_forage, reward_level, reward_death;
    int pad, stride, obs_size;  // pad = tiles of border around the map
    // world
    uint8_t* tiles;      // stride^2 cells x MMO_CHANNELS: terrain, food and items are the truth here
    uint16_t* occ;       // stride^2 occupancy ids
    MmoAgent* agents;
    MmoNpc* npcs;
    int32_t* spawns;     // padded indices of spawn tiles
    int32_t* regrow;     // ring buffer of (tile index, tick it regrows) pairs
    int num_spawns, regrow_cap, regrow_head, regrow_count;
    int tick, ok;
    // state-field cursors: which agent / NPC / tile the per-entity state fields address
    int select, npc_select, tile_x, tile_y;
} Mmo;

static const int8_t mmo_dx[4] = {0, 1, 0, -1}, mmo_dy[4] = {-1, 0, 1, 0};

static inline int mmo_idx(const Mmo* env, int x, int y) { return y * env->stride + x; }
static inline uint8_t* mmo_cell(const Mmo* env, int idx) { return env->tiles + (size_t)idx * MMO_CHANNELS; }
static inline int mmo_walkable(int terrain) {
    return terrain == MMO_GRASS || terrain == MMO_FOREST || terrain == MMO_SPAWN;
}

#include "mmo_map.h"
#include "mmo_agent.h"
#include "mmo_npc.h"

// ---------------------------------------------------------------- observations
static void mmo_write_obs(Mmo* env, int i) {
    uint8_t* o = (uint8_t*)env->core.obs + (size_t)i * (size_t)env->obs_size;
    const MmoAgent* a = &env->agents[i];
    if (!a->alive) {
        memset(o, 0, (size_t)env->obs_size);
        return;
    }
    const int r = env->window / 2, row_bytes = env->window * MMO_CHANNELS;
    for (int dy = -r; dy <= r; dy++)
        memcpy(o + (dy + r) * row_bytes, mmo_cell(env, mmo_idx(env, a->x - r, a->y + dy)), (size_t)row_bytes);
    uint8_t* s = o + env->window * row_bytes;
    const int span = env->size - 1;
    s[0] = 1;
    s[1] = (uint8_t)a->health; s[2] = (uint8_t)a->food; s[3] = (uint8_t)a->water;
    s[4] = a->combat_level; s[5] = a->forage_level; s[6] = a->weapon; s[7] = a->facing;
    s[8] = a->inventory[0]; s[9] = a->inventory[1]; s[10] = a->inventory[2];
    s[11] = (uint8_t)((a->x - env->pad) * 255 / span);
    s[12] = (uint8_t)((a->y - env->pad) * 255 / span);
}

// Writes every live entity's current health and level into its tile, then every row.
static void mmo_write_all_obs(Mmo* env) {
    for (int i = 0; i < env->num_agents; i++) {
        const MmoAgent* a = &env->agents[i];
        if (!a->alive) continue;
        uint8_t* c = mmo_cell(env, mmo_idx(env, a->x, a->y));
        c[MMO_CH_AGENT_HP] = (uint8_t)a->health;
        c[MMO_CH_AGENT_LEVEL] = a->combat_level;
    }
    for (int j = 0; j < env->num_npcs; j++) {
        const MmoNpc* n = &env->npcs[j];
        if (!n->alive) continue;
        uint8_t* c = mmo_cell(env, mmo_idx(env, n->x, n->y));
        c[MMO_CH_NPC_TIER] = (uint8_t)(n->tier + 1);
        int pct = n->health * 100 / n->max_health;
        c[MMO_CH_NPC_HP] = (uint8_t)(pct < 1 ? 1 : pct);
    }
    for (int i = 0; i < env->num_agents; i++) {
        mmo_write_obs(env, i);
        env->core.masks[i] = env->agents[i].alive;
    }
}

// ---------------------------------------------------------------- the ABI functions
static void mmo_init(Mmo* env, const double* cfg) {
    env->size = (int)cfg[MMO_MAP_SIZE];
    env->num_agents = (int)cfg[MMO_AGENTS];
    env->num_npcs = (int)cfg[MMO_NPCS];
    env->window = (int)cfg[MMO_WINDOW];
    env->horizon = (int)cfg[MMO_HORIZON];
    env->respawn_delay = (int)cfg[MMO_RESPAWN_DELAY];
    env->npc_respawn_delay = (int)cfg[MMO_NPC_RESPAWN_DELAY];
    env->food_regrow = (int)cfg[MMO_FOOD_REGROW];
    env->food_drain = (int)cfg[MMO_FOOD_DRAIN];
    env->water_drain = (int)cfg[MMO_WATER_DRAIN];
    env->starve_damage = (int)cfg[MMO_STARVE_DAMAGE];
    env->regen = (int)cfg[MMO_REGEN];
    env->drop_rate = (float)cfg[MMO_DROP_RATE];
    env->reward_survival = (float)cfg[MMO_REWARD_SURVIVAL];
    env->reward_forage = (float)cfg[MMO_REWARD_FORAGE];
    env->reward_level = (float)cfg[MMO_REWARD_LEVEL];
    env->reward_death = (float)cfg[MMO_REWARD_DEATH];
    env->render_cells = (int)cfg[MMO_RENDER_CELLS];
    env->render_follow = (int)cfg[MMO_RENDER_FOLLOW];
    env->pad = env->window / 2 > MMO_NPC_SIGHT ? env->window / 2 : MMO_NPC_SIGHT;
    env->stride = env->size + 2 * env->pad;
    env->obs_size = env->window * env->window * MMO_CHANNELS + MMO_NUM_STATS;
    size_t cells = (size_t)env->stride * (size_t)env->stride;
    env->regrow_cap = env->size * env->size;
    env->tiles = malloc(cells * MMO_CHANNELS);
    env->occ = malloc(cells * sizeof(uint16_t));
    env->agents = calloc((size_t)env->num_agents, sizeof(MmoAgent));
    env->npcs = calloc((size_t)(env->num_npcs ? env->num_npcs : 1), sizeof(MmoNpc));
    env->spawns = malloc(sizeof(int32_t) * 4 * (size_t)env->size);
    env->regrow = malloc(sizeof(int32_t) * 2 * (size_t)env->regrow_cap);
    env->ok = env->tiles && env->occ && env->agents && env->npcs && env->spawns && env->regrow;
    env->core.init_failed = !env->ok;
    env->tile_x = env->tile_y = 0;
}

static void mmo_close(Mmo* env) {
    free(env->tiles); free(env->occ); free(env->agents); free(env->npcs); free(env->spawns); free(env->regrow);
    env->tiles = NULL; env->occ = NULL; env->agents = NULL; env->npcs = NULL; env->spawns = NULL; env->regrow = NULL;
    env->ok = 0;
}

// A new world: map, agents on spawn tiles, NPCs.
static void mmo_new_world(Mmo* env) {
    mmo_generate_map(env, sf_rng_u32(&env->core.rng));
    env->tick = 0;
    env->regrow_head = env->regrow_count = 0;
    for (int i = 0; i < env->num_agents; i++) {
        env->agents[i].alive = 0;
        int idx = mmo_free_spawn(env);  // always found: check_config keeps agents <= spawn tiles
        if (idx >= 0) mmo_place_agent(env, i, idx);
    }
    for (int j = 0; j < env->num_npcs; j++) {
        env->npcs[j].alive = 0;
        env->npcs[j].respawn_wait = 0;
        mmo_spawn_npc(env, j);
    }
}

static void mmo_reset(Mmo* env) {
    if (!env->ok) { memset(env->core.obs, 0, (size_t)env->num_agents * (size_t)env->obs_size); return; }
    for (int i = 0; i < env->num_agents; i++) env->agents[i].life_id = 0;
    mmo_new_world(env);
    memset(env->core.terminals, 0, (size_t)env->num_agents);
    mmo_write_all_obs(env);
}

static inline void mmo_step(Mmo* env) {
    const int n = env->num_agents;
    memset(env->core.rewards, 0, sizeof(float) * (size_t)n);
    memset(env->core.terminals, 0, (size_t)n);
    memset(env->core.truncations, 0, (size_t)n);
    if (!env->ok) return;
    env->tick++;
    for (int i = 0; i < n; i++)
        if (env->agents[i].alive) mmo_agent_act(env, i);
    for (int j = 0; j < env->num_npcs; j++) mmo_npc_act(env, j);
    for (int i = 0; i < n; i++)
        if (env->agents[i].alive) mmo_upkeep(env, i);
    while (env->regrow_count && env->regrow[2 * env->regrow_head + 1] <= env->tick) {
        uint8_t* c = mmo_cell(env, env->regrow[2 * env->regrow_head]);
        if (c[MMO_CH_TERRAIN] == MMO_FOREST) c[MMO_CH_FOOD] = 1;
        env->regrow_head = (env->regrow_head + 1) % env->regrow_cap;
        env->regrow_count--;
    }
    for (int i = 0; i < n; i++) {
        MmoAgent* a = &env->agents[i];
        if (a->alive || env->core.terminals[i]) continue;  // respawn counts from the step after death
        if (a->respawn_wait > 0) a->respawn_wait--;
        if (a->respawn_wait == 0) {
            int idx = mmo_free_spawn(env);
            if (idx >= 0) mmo_place_agent(env, i, idx);
        }
    }
    if (env->respawn_delay == 0) {
        for (int i = 0; i < n; i++) {
            if (env->agents[i].alive || !env->core.terminals[i]) continue;
            int idx = mmo_free_spawn(env);
            if (idx >= 0) mmo_place_agent(env, i, idx);
        }
    }
    if (env->tick >= env->horizon) {
        for (int i = 0; i < n; i++)
            if (env->agents[i].alive) mmo_log_life(env, &env->agents[i]);
        memset(env->core.truncations, 1, (size_t)n);
        mmo_new_world(env);
    }
    mmo_write_all_obs(env);
}

#include "mmo_state.h"

static void mmo_layout(const double* cfg, EnvLayout* out) {
    int window = (int)cfg[MMO_WINDOW];
    out->obs_type = SF_OBS_U8;
    out->obs_ndim = 1;
    out->obs_shape[0] = window * window * MMO_CHANNELS + MMO_NUM_STATS;
    out->obs_low = 0; out->obs_high = 255;
    out->act_type = SF_ACT_MULTIDISCRETE;
    out->act_dims = 3;
    out->act_n[0] = 5; out->act_n[1] = 3; out->act_n[2] = 1 + MMO_INVENTORY;
    out->agents_per_env = (int)cfg[MMO_AGENTS];
    int cells, px;
    mmo_render_geometry(cfg, &cells, &px);
    out->render_height = out->render_width = cells * px;
}

static const char* mmo_check_config(const double* cfg) {
    int size = (int)cfg[MMO_MAP_SIZE], window = (int)cfg[MMO_WINDOW];
    if (window % 2 == 0) return "window: must be odd, so the agent is at its centre";
    if (size < window) return "map_size: must be at least window";
    if ((int)cfg[MMO_AGENTS] > 4 * (size - 1))
        return "agents: more agents than spawn tiles (the map's outer ring has 4 * (map_size - 1))";
    if ((int)cfg[MMO_NPCS] > size * size / 8) return "npcs: at most map_size^2 / 8 NPCs fit the map";
    if (cfg[MMO_REWARD_SURVIVAL] == 0 && cfg[MMO_REWARD_FORAGE] == 0 && cfg[MMO_REWARD_LEVEL] == 0 &&
        cfg[MMO_REWARD_DEATH] == 0)
        return "reward_survival, reward_forage, reward_level, reward_death: all zero, nothing to learn";
    if ((int)cfg[MMO_RENDER_FOLLOW] >= (int)cfg[MMO_AGENTS]) return "render_follow: must be < agents (or -1)";
    return NULL;
}

SF_DEFINE_UNIT_FUNCS(mmo, Mmo)
static void mmo_close_unit(void* u) { mmo_close((Mmo*)u); }

static const EnvDesc mmo_desc = {
    .name = "mmo",
    .doc = "many agents forage, fight NPCs and each other, and survive on a procedural map",
    .unit_size = sizeof(Mmo), .lanes = 1,
    .params = mmo_params, .num_params = MMO_NUM_PARAMS,
    .extra_stats = mmo_extra_stats, .num_extra_stats = MMO_NUM_EXTRA,
    .layout = mmo_layout, .check_config = mmo_check_config,
    .init = mmo_init_unit, .close = mmo_close_unit, .reset = mmo_reset_unit, .step_units = mmo_step_units,
    .render = mmo_render_unit,
    .state_fields = mmo_state_fields, .num_state_fields = MMO_NUM_STATE_FIELDS,
    .get_state = mmo_get_state_unit, .set_state = mmo_set_state_unit,
};

#endif
