// Sanitizer driver for the fused MLP (mlp.c): several layer widths (narrow, odd, wider than a 16-column
// tile), row counts around the 96-row block and the 6-row tile, one and two members; every array
// allocated to its exact size, so a read or write past the end is reported. The forward and the
// backward are checked against the same network computed here in double precision, to 1e-4 of each
// array's largest value. Built by tests/test_sanitizer.py with -fsanitize=address,undefined;
// prints "ok <networks checked>".
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"

static float* make(size_t n) { return malloc(sizeof(float) * (n ? n : 1)); }

static unsigned rng = 12345u;
static float uniform(void) {  // in [-1, 1)
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

// |got - want| <= 1e-4 * max|want| (plus a floor) over n values; prints what broke.
static int close_enough(const float* got, const double* want, size_t n, const char* what, int rows) {
    double scale = 1e-6;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        if (!(fabs((double)got[i] - want[i]) <= 1e-4 * scale)) {
            printf("broken: %s[%zu] = %.7g, expected %.7g (rows %d)\n", what, i, got[i], want[i], rows);
            return 0;
        }
    }
    return 1;
}

static int check(int K, int B, int n, const int* w) {
    float *x = make((size_t)K * B * w[0]), *out = make((size_t)K * B * w[n]), *grad_out = make((size_t)K * B * w[n]);
    float *weights[8], *biases[8], *hidden[8], *grad_w[8], *grad_b[8];
    for (size_t i = 0; i < (size_t)K * B * w[0]; i++) x[i] = uniform();
    for (size_t i = 0; i < (size_t)K * B * w[n]; i++) grad_out[i] = uniform();
    for (int i = 0; i < n; i++) {
        size_t nw = (size_t)K * w[i + 1] * w[i], nb = (size_t)K * w[i + 1];
        weights[i] = make(nw), biases[i] = make(nb), grad_w[i] = make(nw), grad_b[i] = make(nb);
        for (size_t j = 0; j < nw; j++) weights[i][j] = uniform() * 1.5f / sqrtf((float)w[i]);
        for (size_t j = 0; j < nb; j++) biases[i][j] = 0.2f * uniform();
        hidden[i] = i < n - 1 ? make((size_t)K * B * w[i + 1]) : NULL;
    }
    SfMlpShape s = {K, B, n, w};
    int ok = sf_mlp_forward(&s, x, (const float* const*)weights, (const float* const*)biases, hidden, out) == 0 &&
             sf_mlp_backward(&s, x, (const float* const*)weights, (const float* const*)hidden, grad_out, grad_w, grad_b) == 0;
    if (!ok) printf("broken: an allocation failed\n");
    // the reference, in double: activations per layer, then the backward
    double* act[9] = {NULL};
    act[0] = malloc(sizeof(double) * K * B * w[0]);
    for (size_t i = 0; i < (size_t)K * B * w[0]; i++) act[0][i] = x[i];
    for (int i = 0; i < n && ok; i++) {
        act[i + 1] = malloc(sizeof(double) * K * B * w[i + 1]);
        for (int k = 0; k < K; k++)
            for (int r = 0; r < B; r++)
                for (int o = 0; o < w[i + 1]; o++) {
                    double sum = biases[i][k * w[i + 1] + o];
                    for (int p = 0; p < w[i]; p++)
                        sum += act[i][((size_t)k * B + r) * w[i] + p] * weights[i][((size_t)k * w[i + 1] + o) * w[i] + p];
                    act[i + 1][((size_t)k * B + r) * w[i + 1] + o] = i < n - 1 ? tanh(sum) : sum;
                }
        ok = close_enough(i < n - 1 ? hidden[i] : out, act[i + 1], (size_t)K * B * w[i + 1], i < n - 1 ? "hidden" : "out", B);
    }
    double* g = malloc(sizeof(double) * K * B * w[n]);
    for (size_t i = 0; i < (size_t)K * B * w[n]; i++) g[i] = grad_out[i];
    for (int i = n - 1; i >= 0 && ok; i--) {
        double* gw = calloc((size_t)K * w[i + 1] * w[i], sizeof(double));
        double* gb = calloc((size_t)K * w[i + 1], sizeof(double));
        double* gin = calloc((size_t)K * B * w[i], sizeof(double));
        for (int k = 0; k < K; k++)
            for (int r = 0; r < B; r++)
                for (int o = 0; o < w[i + 1]; o++) {
                    double go = g[((size_t)k * B + r) * w[i + 1] + o];
                    gb[k * w[i + 1] + o] += go;
                    for (int p = 0; p < w[i]; p++) {
                        gw[((size_t)k * w[i + 1] + o) * w[i] + p] += go * act[i][((size_t)k * B + r) * w[i] + p];
                        gin[((size_t)k * B + r) * w[i] + p] += go * weights[i][((size_t)k * w[i + 1] + o) * w[i] + p];
                    }
                }
        for (size_t j = 0; j < (size_t)K * B * w[i]; j++) gin[j] *= 1.0 - act[i][j] * act[i][j];  // tanh'
        ok = close_enough(grad_w[i], gw, (size_t)K * w[i + 1] * w[i], "grad_weights", B) &&
             close_enough(grad_b[i], gb, (size_t)K * w[i + 1], "grad_biases", B);
        free(g), free(gw), free(gb);
        g = gin;
    }
    free(g);
    for (int i = 0; i <= n; i++) free(act[i]);
    free(x), free(out), free(grad_out);
    for (int i = 0; i < n; i++) free(weights[i]), free(biases[i]), free(grad_w[i]), free(grad_b[i]), free(hidden[i]);
    return ok;
}

int main(void) {
    static const int nets[][5] = {{2, 4, 3}, {4, 4, 64, 64, 3}, {3, 5, 17, 3}, {2, 1, 1}, {4, 20, 33, 9, 1}, {3, 3, 130, 7}};
    static const int rows[] = {1, 2, 5, 6, 7, 95, 96, 97, 193};
    long checked = 0;
    for (size_t net = 0; net < sizeof nets / sizeof nets[0]; net++)
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
            for (int K = 1; K <= 2; K++, checked++)
                if (!check(K, rows[r], nets[net][0] - 1, nets[net] + 1)) return 1;
    printf("ok %ld\n", checked);
    return 0;
}
