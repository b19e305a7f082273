// actor.c: see actor.h.
#include "actor.h"

#include <stdlib.h>

#include "categorical.h"

int sf_mlp_act(const SfMlpShape* s, const float* x, const float* packed, const float* noise,
               const uint8_t* masks, int64_t* actions, float* logp, float* value) {
    const int n = s->layers, outw = s->widths[n];
    if (n < 1 || n > 64 || outw < 2) return -1;
    const size_t rows = (size_t)s->members * s->rows;
    size_t total = rows * outw;  // the output, then each hidden layer's tanh outputs
    for (int i = 0; i < n - 1; i++) total += rows * s->widths[i + 1];
    float* scratch = malloc(sizeof(float) * (total + 1));
    if (!scratch) return -1;
    float* out = scratch;
    float* hidden[64];
    float* p = scratch + rows * outw;
    for (int i = 0; i < n - 1; i++) {
        hidden[i] = p;
        p += rows * s->widths[i + 1];
    }
    sf_mlp_forward_packed(s, x, packed, hidden, out);
    sf_categorical_sample(out, (size_t)outw, rows, outw - 1, noise, masks, actions, logp);
    for (size_t r = 0; r < rows; r++) value[r] = out[r * outw + outw - 1];
    free(scratch);
    return 0;
}
