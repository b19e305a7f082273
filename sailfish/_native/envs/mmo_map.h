// mmo: map generation and rendering. Included by mmo.h after the world struct; not standalone.
//
// Terrain comes from two fields of value noise (hashed lattice values, smoothstep interpolation,
// four octaves with feature sizes 16, 8, 4 and 2 tiles, so larger maps hold more features rather
// than larger ones, and from any tile water and forest lie within a few windows' walk: at 32 tiles
// the lakes and forests were so far apart that an agent spawned on the edge rarely saw either
// before it starved). Thresholds are percentiles of each map's own fields, so every map has the
// same mix: the lowest 15% of elevation is water, the highest 10% stone, and of the rest the
// wettest 35% (by the moisture field) forest, the others grass.
#ifndef SAILFISH_MMO_MAP_H
#define SAILFISH_MMO_MAP_H

#define MMO_WATER_PCT 15
#define MMO_STONE_PCT 10
#define MMO_FOREST_PCT 35

static inline float mmo_lattice(uint32_t seed, int x, int y) {
    uint32_t h = seed ^ ((uint32_t)x * 0x8DA6B343u) ^ ((uint32_t)y * 0xD8163841u);
    h ^= h >> 16; h *= 0x7FEB352Du; h ^= h >> 15; h *= 0x846CA68Bu; h ^= h >> 16;
    return (float)(h >> 8) * (1.0f / 16777216.0f);
}

static inline float mmo_value_noise(uint32_t seed, int x, int y, int cell) {
    int gx = x / cell, gy = y / cell;
    float fx = (float)(x % cell) / (float)cell, fy = (float)(y % cell) / (float)cell;
    fx = fx * fx * (3.0f - 2.0f * fx);
    fy = fy * fy * (3.0f - 2.0f * fy);
    float a = mmo_lattice(seed, gx, gy), b = mmo_lattice(seed, gx + 1, gy);
    float c = mmo_lattice(seed, gx, gy + 1), d = mmo_lattice(seed, gx + 1, gy + 1);
    float top = a + (b - a) * fx, bottom = c + (d - c) * fx;
    return top + (bottom - top) * fy;
}

// Smooth noise in [0, 255].
static inline uint8_t mmo_fbm(uint32_t seed, int x, int y) {
    float v = 0.0f;
    v += 0.533f * mmo_value_noise(seed, x, y, 16);
    v += 0.267f * mmo_value_noise(seed + 1u, x, y, 8);
    v += 0.133f * mmo_value_noise(seed + 2u, x, y, 4);
    v += 0.067f * mmo_value_noise(seed + 3u, x, y, 2);
    int q = (int)(v * 256.0f);
    return (uint8_t)(q > 255 ? 255 : q);
}

// The smallest value v with at least pct% of the histogram's mass at or below v.
static int mmo_percentile(const int* hist, int total, int pct) {
    long need = (long)total * pct / 100, sum = 0;
    for (int v = 0; v < 256; v++) {
        sum += hist[v];
        if (sum >= need) return v;
    }
    return 255;
}

// Fills tiles (terrain, food; everything else cleared), clears occupancy, lists spawn tiles.
static void mmo_generate_map(Mmo* env, uint32_t seed) {
    const int S = env->size, P = env->pad;
    memset(env->tiles, 0, (size_t)env->stride * (size_t)env->stride * MMO_CHANNELS);
    memset(env->occ, 0, (size_t)env->stride * (size_t)env->stride * sizeof(uint16_t));
    int elev_hist[256] = {0}, moist_hist[256] = {0};
    const uint32_t moist_seed = seed ^ 0x5BD1E995u;
    for (int y = 0; y < S; y++) {  // the noise goes in the terrain and food bytes for now
        for (int x = 0; x < S; x++) {
            uint8_t* c = mmo_cell(env, mmo_idx(env, x + P, y + P));
            c[MMO_CH_TERRAIN] = mmo_fbm(seed, x, y);
            c[MMO_CH_FOOD] = mmo_fbm(moist_seed, x, y);
            elev_hist[c[MMO_CH_TERRAIN]]++;
            moist_hist[c[MMO_CH_FOOD]]++;
        }
    }
    const int water = mmo_percentile(elev_hist, S * S, MMO_WATER_PCT);
    const int stone = mmo_percentile(elev_hist, S * S, 100 - MMO_STONE_PCT);
    const int forest = mmo_percentile(moist_hist, S * S, 100 - MMO_FOREST_PCT);
    env->num_spawns = 0;
    for (int y = 0; y < S; y++) {
        for (int x = 0; x < S; x++) {
            int idx = mmo_idx(env, x + P, y + P);
            uint8_t* c = mmo_cell(env, idx);
            int e = c[MMO_CH_TERRAIN], m = c[MMO_CH_FOOD];
            int ring = x < y ? x : y;
            if (S - 1 - x < ring) ring = S - 1 - x;
            if (S - 1 - y < ring) ring = S - 1 - y;
            int t = e < water ? MMO_WATER : e > stone ? MMO_STONE : m > forest ? MMO_FOREST : MMO_GRASS;
            if (ring == 0) {
                t = MMO_SPAWN;
                env->spawns[env->num_spawns++] = idx;
            } else if (ring == 1 && !mmo_walkable(t)) {
                t = MMO_GRASS;  // nobody spawns walled in
            }
            c[MMO_CH_TERRAIN] = (uint8_t)t;
            c[MMO_CH_FOOD] = t == MMO_FOREST;
        }
    }
}

// ---------------------------------------------------------------- rendering
// The crop: `cells` tiles a side (render_cells, or the map up to 256), `px` pixels per tile.
static void mmo_render_geometry(const double* cfg, int* cells, int* px) {
    int size = (int)cfg[MMO_MAP_SIZE], want = (int)cfg[MMO_RENDER_CELLS];
    int n = want ? (want < size ? want : size) : (size < 256 ? size : 256);
    *cells = n;
    *px = n <= 64 ? 8 : n <= 128 ? 4 : n <= 256 ? 2 : 1;
}

static void mmo_render(const Mmo* env, int lane, uint8_t* rgb) {
    (void)lane;
    double cfg[MMO_NUM_PARAMS] = {0};
    cfg[MMO_MAP_SIZE] = env->size;
    cfg[MMO_RENDER_CELLS] = env->render_cells;
    int cells, px;
    mmo_render_geometry(cfg, &cells, &px);
    const int W = cells * px;
    if (!env->ok) { memset(rgb, 0, (size_t)W * (size_t)W * 3); return; }
    int cx = env->size / 2, cy = env->size / 2;
    const int follow = env->render_follow;
    if (follow >= 0 && env->agents[follow].alive) {
        cx = env->agents[follow].x - env->pad;
        cy = env->agents[follow].y - env->pad;
    }
    int x0 = cx - cells / 2, y0 = cy - cells / 2;
    x0 = x0 < 0 ? 0 : (x0 > env->size - cells ? env->size - cells : x0);
    y0 = y0 < 0 ? 0 : (y0 > env->size - cells ? env->size - cells : y0);
    static const Color terrain[6] = {{0, 0, 0}, {92, 150, 64}, {34, 96, 44}, {44, 92, 196},
                                     {122, 122, 128}, {206, 186, 128}};
    static const Color npc[3] = {{250, 214, 228}, {250, 164, 40}, {168, 40, 200}};
    const Color berry = {214, 60, 60}, item = {255, 214, 0}, followed = {255, 255, 255};
    const int inset = px >= 4 ? 1 : 0, dot = px >= 4 ? px / 4 : 0, seed = px >= 4 ? px * 3 / 8 : 0;
    for (int ty = 0; ty < cells; ty++) {
        for (int tx = 0; tx < cells; tx++) {
            int idx = mmo_idx(env, x0 + tx + env->pad, y0 + ty + env->pad);
            const uint8_t* c = mmo_cell(env, idx);
            int X = tx * px, Y = ty * px;
            sf_fill_rect(rgb, W, W, X, Y, X + px, Y + px, terrain[c[MMO_CH_TERRAIN] % 6]);
            if (c[MMO_CH_FOOD]) sf_fill_rect(rgb, W, W, X + seed, Y + seed, X + px - seed, Y + px - seed, berry);
            if (c[MMO_CH_ITEM])
                sf_fill_rect(rgb, W, W, X + px / 2 - dot, Y + px / 2 - dot, X + px / 2 + dot + 1, Y + px / 2 + dot + 1, item);
            int id = env->occ[idx];
            if (!id) continue;
            Color col;
            if (id >= MMO_NPC_ID0) {
                col = npc[env->npcs[id - MMO_NPC_ID0].tier % 3];
            } else {
                int h = env->agents[id - 1].health;  // red (dying) to cyan (healthy)
                col.r = (uint8_t)(255 - 195 * h / MMO_MAX_STAT);
                col.g = (uint8_t)(40 + 180 * h / MMO_MAX_STAT);
                col.b = (uint8_t)(40 + 215 * h / MMO_MAX_STAT);
                if (id - 1 == follow) sf_fill_rect(rgb, W, W, X, Y, X + px, Y + px, followed);
            }
            sf_fill_rect(rgb, W, W, X + inset, Y + inset, X + px - inset, Y + px - inset, col);
        }
    }
}

#endif
