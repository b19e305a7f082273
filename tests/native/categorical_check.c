// Sanitizer driver for the categorical kernels (categorical.c): every action count 1-20, row counts
// 0-9, rows packed and strided (a slice of a wider output), some logits masked to -1e9, each array
// allocated to its exact size. Checks the log-probabilities, entropies and the gradient against the
// same formulas in double precision to 1e-5, and that an action outside [0, n) gives NaN and no
// write past the row. Built by tests/test_sanitizer.py with -fsanitize=address,undefined; prints
// "ok <rows checked>".
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "categorical.h"

static unsigned rng = 777u;
static float uniform(void) {  // in [-1, 1)
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

int main(void) {
    long checked = 0;
    for (int n = 1; n <= 20; n++)
        for (size_t rows = 0; rows <= 9; rows++)
            for (size_t extra = 0; extra <= 2; extra += 2) {
                const size_t ld = (size_t)n + extra;
                float* logits = malloc(sizeof(float) * (rows ? (rows - 1) * ld + n : 1));
                int64_t* actions = malloc(sizeof(int64_t) * (rows ? rows : 1));
                float *logp = malloc(sizeof(float) * (rows ? rows : 1)), *entropy = malloc(sizeof(float) * (rows ? rows : 1));
                float *lse = malloc(sizeof(float) * (rows ? rows : 1)), *gl = malloc(sizeof(float) * (rows ? rows : 1));
                float *ge = malloc(sizeof(float) * (rows ? rows : 1)), *grad = malloc(sizeof(float) * (rows ? rows * n : 1));
                for (size_t r = 0; r < rows; r++) {
                    for (int j = 0; j < n; j++) logits[r * ld + j] = 6.0f * uniform();
                    actions[r] = (int64_t)((rng >> 4) % (unsigned)n);
                    if (n > 2 && r % 3 == 1) logits[r * ld + (actions[r] + 1) % n] = -1e9f;  // a masked action
                    if (r == 4) actions[r] = n;  // out of range
                    gl[r] = uniform(), ge[r] = uniform();
                }
                sf_categorical_forward(logits, ld, actions, rows, n, logp, entropy, lse);
                sf_categorical_backward(logits, ld, actions, lse, entropy, gl, ge, rows, n, grad);
                for (size_t r = 0; r < rows; r++, checked++) {
                    const float* z = logits + r * ld;
                    double m = z[0], sum = 0.0, h = 0.0;
                    for (int j = 1; j < n; j++) m = fmax(m, z[j]);
                    for (int j = 0; j < n; j++) sum += exp(z[j] - m);
                    const double log_z = m + log(sum);
                    for (int j = 0; j < n; j++) {
                        const double p = exp(z[j] - log_z);
                        if (p > 0) h -= p * (z[j] - log_z);
                    }
                    const int valid = actions[r] >= 0 && actions[r] < n;
                    if (valid ? fabs(logp[r] - (z[actions[r]] - log_z)) > 1e-5 : !isnan(logp[r])) {
                        printf("broken: logp row %zu (n %d): %g\n", r, n, logp[r]);
                        return 1;
                    }
                    if (fabs(entropy[r] - h) > 1e-5) {
                        printf("broken: entropy row %zu (n %d): %g, expected %g\n", r, n, entropy[r], h);
                        return 1;
                    }
                    for (int j = 0; j < n; j++) {
                        const double lp = z[j] - log_z, p = exp(lp);
                        double want = -p * (gl[r] + ge[r] * (p > 0 ? lp + h : 0.0));
                        if (valid && j == actions[r]) want += gl[r];
                        if (fabs(grad[r * n + j] - want) > 1e-5) {
                            printf("broken: grad row %zu col %d (n %d): %g, expected %g\n", r, j, n, grad[r * n + j], want);
                            return 1;
                        }
                    }
                }
                free(logits), free(actions), free(logp), free(entropy), free(lse), free(gl), free(ge), free(grad);
            }
    printf("ok %ld\n", checked);
    return 0;
}
