// Sanitizer driver for the activation kernels (activations.c): arrays of every length 0-257, each
// allocated to its exact size so a read or write past the end is reported (the vector loops have
// scalar tails), values over [-40, 40] plus NaN and infinities. Checks tanh against libm's double
// tanh to 2e-7, NaN in -> NaN out, +-inf -> +-1, and the backward against grad * (1 - y^2) computed
// here. Built by tests/test_sanitizer.py with -fsanitize=address,undefined; prints "ok <values>".
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "activations.h"

int main(void) {
    long checked = 0;
    for (size_t n = 0; n <= 257; n++) {
        float* x = malloc(sizeof(float) * (n ? n : 1));
        float* grad = malloc(sizeof(float) * (n ? n : 1));
        float* expected = malloc(sizeof(float) * (n ? n : 1));
        for (size_t i = 0; i < n; i++) x[i] = -40.0f + 80.0f * (float)i / (float)(n > 1 ? n - 1 : 1);
        if (n > 3) { x[0] = NAN; x[1] = INFINITY; x[2] = -INFINITY; }
        float* input = malloc(sizeof(float) * (n ? n : 1));
        for (size_t i = 0; i < n; i++) input[i] = x[i];
        sf_tanh_inplace(x, n);
        for (size_t i = 0; i < n; i++, checked++) {
            if (isnan(input[i])) {
                if (!isnan(x[i])) { printf("broken: NaN in, %g out (n %zu)\n", x[i], n); return 1; }
            } else if (fabs((double)x[i] - tanh((double)input[i])) > 2e-7) {
                printf("broken: tanh(%g) = %.9g, expected %.9g (n %zu)\n", input[i], x[i], tanh((double)input[i]), n);
                return 1;
            }
            grad[i] = 0.5f - (float)i / (float)(n + 1);
            expected[i] = grad[i] * (1.0f - x[i] * x[i]);
        }
        sf_tanh_backward_inplace(grad, x, n);
        for (size_t i = 0; i < n; i++) {
            if (!(grad[i] == expected[i]) && !(isnan(grad[i]) && isnan(expected[i]))) {
                printf("broken: tanh backward at %zu (n %zu)\n", i, n);
                return 1;
            }
        }
        free(x), free(grad), free(expected), free(input);
    }
    printf("ok %ld\n", checked);
    return 0;
}
