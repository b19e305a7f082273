// Sanitizer driver for the advantage kernel (advantage.c): random batches of every small shape,
// without masks, with masks (all live, all padding, mixed) and with or without next_masks, each
// array allocated to its exact size so a read or write past a row is reported. Checks the rules
// that hold whatever the values: all-live masks give the unmasked result bit for bit, padding gets
// advantage 0, and every advantage is finite. Built by tests/test_sanitizer.py with
// -fsanitize=address,undefined; prints "ok <batches>" and exits 0, else names the broken rule.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advantage.h"

static uint64_t state = 88172645463325252ull;
static uint64_t next_u64(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }
static float uniform(void) { return (float)(next_u64() >> 40) / (float)(1 << 24); }

int main(void) {
    long batches = 0;
    for (long agents = 1; agents <= 5; agents++) {
        for (long horizon = 1; horizon <= 17; horizon++) {
            const long n = agents * horizon;
            float* values = malloc(sizeof(float) * n);
            float* rewards = malloc(sizeof(float) * n);
            float* ratios = malloc(sizeof(float) * n);
            float* plain = malloc(sizeof(float) * n);
            float* out = malloc(sizeof(float) * n);
            float* next_values = malloc(sizeof(float) * agents);
            uint8_t* terminals = malloc(n);
            uint8_t* truncations = malloc(n);
            uint8_t* masks = malloc(n);
            uint8_t* next_masks = malloc(agents);
            for (int trial = 0; trial < 8; trial++, batches++) {
                for (long i = 0; i < n; i++) {
                    values[i] = 4 * uniform() - 2;
                    rewards[i] = 4 * uniform() - 2;
                    ratios[i] = 2 * uniform();
                    terminals[i] = uniform() < 0.15f;
                    truncations[i] = uniform() < 0.15f;
                    masks[i] = trial == 0 ? 1 : (trial == 1 ? 0 : uniform() < 0.5f);
                }
                for (long a = 0; a < agents; a++) {
                    next_values[a] = 4 * uniform() - 2;
                    next_masks[a] = trial == 0 || uniform() < 0.5f;
                }
                sf_compute_advantages(values, rewards, terminals, truncations, NULL, NULL, ratios, next_values, plain,
                                      agents, horizon, 0.99f, 0.95f, 1.0f, 1.0f);
                sf_compute_advantages(values, rewards, terminals, truncations, masks, trial & 1 ? NULL : next_masks,
                                      ratios, next_values, out, agents, horizon, 0.99f, 0.95f, 1.0f, 1.0f);
                for (long i = 0; i < n; i++) {
                    if (!isfinite(out[i]) || !isfinite(plain[i])) { printf("advantage not finite\n"); return 1; }
                    if (!masks[i] && out[i] != 0.0f) { printf("padding step with advantage %g\n", out[i]); return 1; }
                }
                if (trial == 0 && memcmp(out, plain, sizeof(float) * n)) {
                    printf("all-live masks differ from no masks (agents %ld, horizon %ld)\n", agents, horizon);
                    return 1;
                }
            }
            free(values); free(rewards); free(ratios); free(plain); free(out); free(next_values);
            free(terminals); free(truncations); free(masks); free(next_masks);
        }
    }
    printf("ok %ld\n", batches);
    return 0;
}
