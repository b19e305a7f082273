// activations.c: see activations.h.
#include "activations.h"

#include <stdint.h>

#include "simd.h"

// exp(y) for |y| <= 20: 2^n p(r) with n = round(y / ln2), r = y - n ln2 (ln2 split in two for
// precision) and p the degree-6 Taylor polynomial of exp, accurate to float32 over |r| <= ln2 / 2.
static inline float sf_exp_small(float y) {  // |y| <= 20
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    const float round_bias = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
    const float n = (y * log2e + round_bias) - round_bias;
    const float r = (y - n * ln2_hi) - n * ln2_lo;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { int32_t i; float f; } scale = {.i = ((int32_t)n + 127) << 23};  // 2^n, n in [-29, 29]
    return p * scale.f;
}

typedef union { float f; uint32_t u; } Bits;

// The clamp and the NaN check compare the bit patterns as integers, and the NaN one is a mask, not a
// select: a float comparison may trap (-ftrapping-math, the default) and a select after the
// division became a branch, either of which stops gcc from vectorising the loop.
SF_ALWAYS_INLINE void sf_tanh_loop(float* x, size_t n) {
    const uint32_t ten = 0x41200000u, inf = 0x7f800000u;  // 10.0f (tanh(10) is 1 in float32), +inf
    for (size_t i = 0; i < n; i++) {
        Bits v = {.f = x[i]};
        const uint32_t magnitude = v.u & 0x7fffffffu;
        Bits clamped = {.u = (v.u & 0x80000000u) | (magnitude > ten ? ten : magnitude)};
        Bits t = {.f = 1.0f - 2.0f / (sf_exp_small(2.0f * clamped.f) + 1.0f)};
        const uint32_t nan = 0u - (uint32_t)(magnitude > inf);  // all ones for a NaN: NaN in, NaN out
        t.u = (t.u & ~nan) | (v.u & nan);
        x[i] = t.f;
    }
}

SF_ALWAYS_INLINE void sf_tanh_backward_loop(float* grad, const float* y, size_t n) {
    for (size_t i = 0; i < n; i++) grad[i] = grad[i] * (1.0f - y[i] * y[i]);
}

// Each loop compiled for every vector width simd.h offers, the widest the CPU has run.
SF_VECTOR_KERNEL static void sf_tanh8(float* x, size_t n) { sf_tanh_loop(x, n); }
SF_VECTOR_KERNEL static void sf_tanh_backward8(float* grad, const float* y, size_t n) { sf_tanh_backward_loop(grad, y, n); }
#if defined(SF_WIDE_KERNEL)
SF_WIDE_KERNEL static void sf_tanh16(float* x, size_t n) { sf_tanh_loop(x, n); }
SF_WIDE_KERNEL static void sf_tanh_backward16(float* grad, const float* y, size_t n) { sf_tanh_backward_loop(grad, y, n); }
#endif

void sf_tanh_inplace(float* x, size_t n) {
#if defined(SF_WIDE_KERNEL)
    if (sf_has_wide_vectors()) {
        sf_tanh16(x, n);
        return;
    }
#endif
    sf_tanh8(x, n);
}

void sf_tanh_backward_inplace(float* grad, const float* y, size_t n) {
#if defined(SF_WIDE_KERNEL)
    if (sf_has_wide_vectors()) {
        sf_tanh_backward16(grad, y, n);
        return;
    }
#endif
    sf_tanh_backward8(grad, y, n);
}
