// Sanitizer driver for connect4's scripted bots as the per-row binding calls them (connect4_bot.h):
// positions of random games, each seen from both sides. Checks that an observation written by the
// env (c4_write_obs_row) decodes back to the same bitboards (c4_board_from_obs), and that every bot
// (onestep, minimax at depths 1-4, random; full and partial skill) plays a column with room, takes a
// win in one when it has one, and otherwise blocks the other side's win in one (onestep: always;
// minimax: when blocking saves the game for a move; against two threats it has lost whatever it plays). Built by
// tests/test_sanitizer.py with -fsanitize=address,undefined; prints "ok <positions>" and exits 0,
// else names the broken rule.
#include <stdio.h>
#include <stdlib.h>

#include "envs/connect4.h"

static int fail(const char* rule, long position) {
    printf("broken: %s (position %ld)\n", rule, position);
    return 1;
}

int main(void) {
    float obs[2 * (C4_ROWS * C4_COLS + C4_COLS)];
    Connect4 env;
    memset(&env, 0, sizeof(env));
    env.core.obs = obs;
    Rng game_rng, bot_rng;
    sf_rng_seed(&game_rng, 12345, 0);
    sf_rng_seed(&bot_rng, 678, 0);
    long positions = 0;
    for (int game = 0; game < 3000; game++) {
        env.discs[0] = env.discs[1] = 0;
        memset(env.heights, 0, sizeof(env.heights));
        for (int ply = 0; ply < C4_ROWS * C4_COLS; ply++) {
            const int side = ply % 2;
            for (int row = 0; row < 2; row++) c4_write_obs_row(&env, row);
            for (int row = 0; row < 2; row++) {
                uint64_t me, them;
                c4_board_from_obs(obs + row * (C4_ROWS * C4_COLS + C4_COLS), &me, &them);
                if (me != env.discs[row] || them != env.discs[1 - row]) return fail("obs decodes to the board", positions);
            }
            const uint64_t me = env.discs[side], them = env.discs[1 - side];
            const uint64_t playable = c4_playable_cells(me | them);
            const uint64_t wins = c4_threat_cells(me) & playable, blocks = c4_threat_cells(them) & playable;
            for (int kind = C4_BOT_ONESTEP; kind <= C4_BOT_RANDOM; kind++) {
                for (int depth = 1; depth <= (kind == C4_BOT_MINIMAX ? 4 : 1); depth++) {
                    for (int skilled = 0; skilled < 2; skilled++) {
                        const int c = c4_bot_column(me, them, kind, depth, skilled ? 1.0f : 0.5f, &bot_rng);
                        if (c < 0 || c >= C4_COLS || !(playable & c4_column_cells(c))) return fail("a column with room", positions);
                        if (!skilled || kind == C4_BOT_RANDOM) continue;
                        const uint64_t cell = playable & c4_column_cells(c);
                        if (wins && !(cell & wins)) return fail("takes a win in one", positions);
                        // minimax blocks a loss in one when blocking saves the game for a move: one threat,
                        // and no second one on top of the blocking disc (else every move loses at once)
                        const int saving = blocks && !(blocks & (blocks - 1)) && !((blocks << 1) & c4_threat_cells(them));
                        if (!wins && (saving || (blocks && kind == C4_BOT_ONESTEP)) && !(cell & blocks))
                            return fail("blocks a win in one", positions);
                    }
                }
            }
            positions++;
            // the game goes on with a random legal move; it ends when someone connects four
            const int c = c4_bot_column(me, them, C4_BOT_RANDOM, 1, 1.0f, &game_rng);
            env.discs[side] |= c4_drop_bit(&env, c);
            env.heights[c]++;
            if (c4_connects_four(env.discs[side])) break;
        }
    }
    printf("ok %ld\n", positions);
    return 0;
}
