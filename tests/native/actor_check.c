// Sanitizer driver for the rollout step (actor.c): 1-3 members, 0-100 rows per member (across the
// 96-row block), 1-7 actions, 1-2 hidden layers, with and without legal-action masks (some rows
// with one legal action, some with none), each array allocated to its exact size. Checks each
// row's value against sf_mlp_forward's output, its action against the Gumbel-max rule evaluated in
// double (the argmax of log-softmax minus log noise; rows whose top two scores are within 1e-4 are
// not judged, float rounding may order them either way), that a masked action is never taken
// while a legal one exists, and its log-probability to 1e-5 (-log n where no action is legal).
// Built by tests/test_sanitizer.py with -fsanitize=address,undefined; prints "ok <rows checked>".
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "actor.h"

static unsigned rng = 4242u;
static float uniform(void) {  // in [-1, 1)
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

int main(void) {
    long checked = 0;
    const int row_counts[] = {0, 1, 5, 16, 95, 96, 100};
    for (int members = 1; members <= 3; members++)
        for (int ri = 0; ri < 7; ri++)
            for (int n = 1; n <= 7; n += 3)
                for (int layers = 2; layers <= 3; layers++)
                    for (int masked = 0; masked <= 1; masked++) {
                        const int B = row_counts[ri];
                        int widths[4] = {5, 24, 17, n + 1};
                        if (layers == 2) widths[2] = n + 1;
                        SfMlpShape s = {members, B, layers, widths};
                        const size_t rows = (size_t)members * B;
                        float *weights[3], *biases[3], *hidden[2];
                        for (int i = 0; i < layers; i++) {
                            const size_t nw = (size_t)members * widths[i + 1] * widths[i];
                            weights[i] = malloc(sizeof(float) * nw);
                            biases[i] = malloc(sizeof(float) * members * widths[i + 1]);
                            for (size_t j = 0; j < nw; j++) weights[i][j] = 1.5f * uniform();
                            for (int j = 0; j < members * widths[i + 1]; j++) biases[i][j] = uniform();
                            if (i < layers - 1) hidden[i] = malloc(sizeof(float) * (rows ? rows : 1) * widths[i + 1]);
                        }
                        const size_t cells = rows ? rows * n : 1;
                        float* x = malloc(sizeof(float) * (rows ? rows : 1) * widths[0]);
                        float* out = malloc(sizeof(float) * (rows ? rows : 1) * (n + 1));
                        float* noise = malloc(sizeof(float) * cells);
                        uint8_t* masks = malloc(cells);
                        float* packed = malloc(sizeof(float) * sf_mlp_packed_size(&s));
                        int64_t* actions = malloc(sizeof(int64_t) * (rows ? rows : 1));
                        float *logp = malloc(sizeof(float) * (rows ? rows : 1)), *value = malloc(sizeof(float) * (rows ? rows : 1));
                        for (size_t j = 0; j < rows * widths[0]; j++) x[j] = 2.0f * uniform();
                        for (size_t j = 0; j < rows * n; j++) {
                            noise[j] = 0.5f * (uniform() + 1.0f) * 4.0f + 1e-3f;  // Exp(1)-like, positive
                            masks[j] = uniform() > 0.0f;
                        }
                        for (size_t r = 0; r < rows; r++) {
                            if (r % 7 == 3) for (int j = 0; j < n; j++) masks[r * n + j] = j == (int)(r % n);  // one legal
                            if (r % 11 == 5) for (int j = 0; j < n; j++) masks[r * n + j] = 0;  // none
                        }
                        sf_mlp_pack(&s, (const float* const*)weights, (const float* const*)biases, packed);
                        if (sf_mlp_act(&s, x, packed, noise, masked ? masks : NULL, actions, logp, value) < 0 ||
                            sf_mlp_forward(&s, x, (const float* const*)weights, (const float* const*)biases, hidden, out) < 0) {
                            printf("broken: out of memory\n");
                            return 1;
                        }
                        for (size_t r = 0; r < rows; r++, checked++) {
                            const float* z = out + r * (n + 1);
                            const uint8_t* legal = masked ? masks + r * n : NULL;
                            if (fabsf(value[r] - z[n]) > 1e-5f * (1.0f + fabsf(z[n]))) {
                                printf("broken: value row %zu: %g, expected %g\n", r, value[r], z[n]);
                                return 1;
                            }
                            double m = -INFINITY, sum = 0.0, score[8], best = -INFINITY, second = -INFINITY;
                            int any = 0, want = 0;
                            for (int j = 0; j < n; j++) any |= !legal || legal[j];
                            for (int j = 0; j < n; j++) m = fmax(m, legal && !legal[j] ? -1e9 : z[j]);
                            for (int j = 0; j < n; j++) sum += exp((legal && !legal[j] ? -1e9 : z[j]) - m);
                            for (int j = 0; j < n; j++) {
                                score[j] = (legal && !legal[j] ? -1e9 : z[j]) - m - log(sum) - log(noise[r * n + j]);
                                if (score[j] > best) second = best, best = score[j], want = j;
                                else if (score[j] > second) second = score[j];
                            }
                            const int a = (int)actions[r];
                            if (a < 0 || a >= n || (legal && any && !legal[a])) {
                                printf("broken: row %zu took action %d (n %d)\n", r, a, n);
                                return 1;
                            }
                            if (best - second > 1e-4 && a != want) {
                                printf("broken: row %zu took %d, the Gumbel-max action is %d\n", r, a, want);
                                return 1;
                            }
                            const double lp = score[a] + log(noise[r * n + a]);
                            if (legal && !any && fabs(logp[r] + log((double)n)) > 1e-5) {  // none legal: uniform
                                printf("broken: logp row %zu with no legal action: %g, expected %g\n", r, logp[r], -log((double)n));
                                return 1;
                            }
                            if (fabs(logp[r] - lp) > 1e-5 * (1.0 + fabs(lp)) && !(legal && !any)) {
                                printf("broken: logp row %zu: %g, expected %g\n", r, logp[r], lp);
                                return 1;
                            }
                        }
                        for (int i = 0; i < layers; i++) {
                            free(weights[i]), free(biases[i]);
                            if (i < layers - 1) free(hidden[i]);
                        }
                        free(x), free(out), free(noise), free(masks), free(packed), free(actions), free(logp), free(value);
                    }
    printf("ok %ld\n", checked);
    return 0;
}
