// connect4_bot.h: Connect Four bitboards and an alpha-beta minimax player, for connect4.h.
//
// Boards are bitboards: column c, row h (0 = bottom) is bit 7c + h; bit 7c + 6 stays empty so
// shifts never carry a line from one column into the next. A position is two boards, the side
// to move's discs (`me`) and the other side's (`them`); nothing else is needed, since discs
// never float.
//
// The search (c4_minimax_column): negamax with alpha-beta to `depth` plies, moves tried centre
// first. A win scores C4_WIN minus the plies to reach it (so a nearer win beats a farther one and
// a farther loss beats a nearer one), a full board 0, and a position at the horizon the
// difference in open threats (empty cells that would complete a line of four) plus a small
// bonus for discs in the centre column. Before searching, a node that can win at once returns
// that win, and a node facing an immediate threat it cannot win against only searches the
// block (two threats: lost); no node plays under a cell where the other side would complete
// four. So depth 1 already never misses a win in one and never allows a loss in one that it
// can block.
//
// Ties: the root searches every move with a window one below the best so far, so moves of equal
// value are known exactly; among the best it keeps those nearest the centre column, and between
// the two columns at the same distance (c and 6 - c) it draws from the env's RNG. One draw per
// move at most, so the bot is deterministic given the env's per-env generator.
//
// The scripted opponents of connect4.h are here too, on bitboards alone (c4_bot_column), so the
// env's 1-player mode and the per-row bots of the Python league (c4_board_from_obs, through
// sailfish._native.connect4_bot_actions) play exactly the same moves for the same RNG stream.
//
// No allocation, no globals: the recursion's state is on the stack (depth <= C4_MAX_DEPTH).
// Cost per move, measured (benchmarks/connect4_bot.py: gcc -O3, one thread of the shared 2-vCPU
// project machine, positions of random games, the one-ply opponent's cost subtracted; two runs,
// the spread is other tenants' load): depth 2 ~0.5 us, depth 4 5-10 us, depth 6 40-60 us,
// depth 8 0.3-0.6 ms, depth 10 ~2.3 ms. A 1000-game match at depth 6 spends well under a second
// in the bot.
#ifndef SAILFISH_CONNECT4_BOT_H
#define SAILFISH_CONNECT4_BOT_H
#include "../core.h"

#define C4_COLS 7
#define C4_ROWS 6
#define C4_MAX_DEPTH 10
#define C4_WIN 1000

#define C4_BOTTOM 0x0040810204081ull                  // bit 7c of every column
#define C4_BOARD (C4_BOTTOM * ((1ull << C4_ROWS) - 1)) // the 42 playable cells

static const int c4_order[C4_COLS] = {3, 2, 4, 1, 5, 0, 6};

static inline int c4_connects_four(uint64_t b) {
    static const int dirs[4] = {1, 7, 6, 8};  // vertical, horizontal, both diagonals
    for (int k = 0; k < 4; k++) {
        uint64_t m = b & (b >> dirs[k]);
        if (m & (m >> (2 * dirs[k]))) return 1;
    }
    return 0;
}

// Empty or not, the cells where a disc of `b` would complete four (in every direction).
static inline uint64_t c4_threat_cells(uint64_t b) {
    uint64_t r = (b << 1) & (b << 2) & (b << 3);  // on top of three in a column
    static const int dirs[3] = {7, 6, 8};
    for (int k = 0; k < 3; k++) {
        const int d = dirs[k];
        uint64_t p = (b << d) & (b << 2 * d);
        r |= p & (b << 3 * d);  // xxx_
        r |= p & (b >> d);      // xx_x
        p = (b >> d) & (b >> 2 * d);
        r |= p & (b << d);      // x_xx
        r |= p & (b >> 3 * d);  // _xxx
    }
    return r & C4_BOARD;
}

// The lowest empty cell of every column that has room.
static inline uint64_t c4_playable_cells(uint64_t occupied) { return (occupied + C4_BOTTOM) & C4_BOARD; }

static inline uint64_t c4_column_cells(int col) { return 0x3Full << (7 * col); }

static inline int c4_popcount(uint64_t x) { return __builtin_popcountll(x); }

// Value of a position at the horizon for the side to move (|value| < C4_WIN - C4_MAX_DEPTH).
static inline int c4_heuristic(uint64_t me, uint64_t them) {
    const uint64_t empty = C4_BOARD & ~(me | them), centre = c4_column_cells(3);
    return 4 * (c4_popcount(c4_threat_cells(me) & empty) - c4_popcount(c4_threat_cells(them) & empty)) +
           c4_popcount(me & centre) - c4_popcount(them & centre);
}

// Negamax value for the side to move (`me`), searched `depth` more plies; `ply` plies from the root.
static int c4_negamax(uint64_t me, uint64_t them, int depth, int alpha, int beta, int ply) {
    const uint64_t occupied = me | them, playable = c4_playable_cells(occupied);
    if (!playable) return 0;                                  // full board: a draw
    if (c4_threat_cells(me) & playable) return C4_WIN - ply - 1;  // wins with its next disc
    if (depth <= 0) return c4_heuristic(me, them);
    uint64_t moves = playable;
    const uint64_t forced = c4_threat_cells(them) & playable;
    if (forced) {
        if (forced & (forced - 1)) return -(C4_WIN - ply - 2);  // two threats: one can be blocked
        moves = forced;
    }
    moves &= ~(c4_threat_cells(them) >> 1);  // never under a cell that completes the other's four
    if (!moves) return -(C4_WIN - ply - 2);   // every move hands the other side a win
    int best = -C4_WIN;
    for (int k = 0; k < C4_COLS; k++) {
        const uint64_t bit = moves & c4_column_cells(c4_order[k]);
        if (!bit) continue;
        const int v = -c4_negamax(them, me | bit, depth - 1, -beta, -alpha, ply + 1);
        if (v > best) best = v;
        if (v > alpha) alpha = v;
        if (alpha >= beta) break;
    }
    return best;
}

// The column the side with discs `me` plays against `them` (the board must have room), searching
// `depth` plies (clamped to 1..C4_MAX_DEPTH); `rng` breaks ties between c and 6 - c.
static int c4_minimax_column(uint64_t me, uint64_t them, int depth, Rng* rng) {
    if (depth < 1) depth = 1;
    if (depth > C4_MAX_DEPTH) depth = C4_MAX_DEPTH;
    const uint64_t playable = c4_playable_cells(me | them);
    const uint64_t wins = c4_threat_cells(me) & playable;
    if (wins)  // the win nearest the centre: no search needed
        for (int k = 0; k < C4_COLS; k++)
            if (wins & c4_column_cells(c4_order[k])) return c4_order[k];
    int value[C4_COLS], best = -C4_WIN - 1;
    for (int k = 0; k < C4_COLS; k++) {
        const int c = c4_order[k];
        const uint64_t bit = playable & c4_column_cells(c);
        value[c] = -C4_WIN - 1;
        if (!bit) continue;
        // Window (best - 1, +inf): a move worse than the best fails low; one as good is exact.
        value[c] = -c4_negamax(them, me | bit, depth - 1, -C4_WIN - 1, -(best - 1), 1);
        if (value[c] > best) best = value[c];
    }
    for (int d = 0; d <= 3; d++) {  // distance from the centre column
        const int a = 3 - d, b = 3 + d, a_best = value[a] == best, b_best = value[b] == best;
        if (a_best && b_best && a != b) return sf_rng_below(rng, 2) ? b : a;
        if (a_best) return a;
        if (b_best) return b;
    }
    return c4_order[0];  // not reached: some column has room
}

enum { C4_BOT_ONESTEP = 0, C4_BOT_MINIMAX = 1, C4_BOT_RANDOM = 2 };

// A legal column drawn with the given weights (the board must have room): one RNG draw.
static inline int c4_weighted_column(uint64_t occupied, const int weight[C4_COLS], Rng* rng) {
    const uint64_t playable = c4_playable_cells(occupied);
    int total = 0;
    for (int c = 0; c < C4_COLS; c++) total += (playable & c4_column_cells(c)) ? weight[c] : 0;
    int pick = (int)sf_rng_below(rng, (uint32_t)total);
    for (int c = 0; c < C4_COLS; c++) {
        if (!(playable & c4_column_cells(c))) continue;
        pick -= weight[c];
        if (pick < 0) return c;
    }
    return c4_order[0];  // not reached
}

// The column a scripted bot with discs `me` plays against `them` (the board must have room):
//   C4_BOT_ONESTEP: a winning column if it has one, else one that blocks the other side's win in one,
//     each tried centre first (3 2 4 1 5 0 6), else a legal column weighted 1 2 3 4 3 2 1;
//   C4_BOT_MINIMAX: c4_minimax_column to `depth` plies;
//   C4_BOT_RANDOM: a uniformly random legal column.
// With probability 1 - skill a onestep or minimax move skips its lookahead and plays the weighted
// random column instead (skill >= 1 draws nothing for it).
static inline int c4_bot_column(uint64_t me, uint64_t them, int kind, int depth, float skill, Rng* rng) {
    static const int centre_weight[C4_COLS] = {1, 2, 3, 4, 3, 2, 1}, uniform[C4_COLS] = {1, 1, 1, 1, 1, 1, 1};
    const uint64_t occupied = me | them;
    if (kind == C4_BOT_RANDOM) return c4_weighted_column(occupied, uniform, rng);
    if (skill >= 1.0f || sf_rng_uniform(rng) < skill) {
        if (kind == C4_BOT_MINIMAX) return c4_minimax_column(me, them, depth, rng);
        const uint64_t playable = c4_playable_cells(occupied);
        for (int side = 0; side < 2; side++) {  // first its own win, then the other side's to block
            const uint64_t discs = side == 0 ? me : them;
            for (int k = 0; k < C4_COLS; k++) {
                const uint64_t bit = playable & c4_column_cells(c4_order[k]);
                if (bit && c4_connects_four(discs | bit)) return c4_order[k];
            }
        }
    }
    return c4_weighted_column(occupied, centre_weight, rng);
}

// The bitboards of an observation row (connect4.h's layout: 42 cells from the top row down, +1 the
// row's own disc, -1 the other side's): `me` the row's discs, `them` the other side's.
static inline void c4_board_from_obs(const float* obs, uint64_t* me, uint64_t* them) {
    *me = *them = 0;
    for (int r = 0; r < C4_ROWS; r++)
        for (int c = 0; c < C4_COLS; c++) {
            const float v = obs[r * C4_COLS + c];
            const uint64_t bit = 1ull << (7 * c + (C4_ROWS - 1 - r));
            if (v > 0.5f) *me |= bit;
            else if (v < -0.5f) *them |= bit;
        }
}

#endif
