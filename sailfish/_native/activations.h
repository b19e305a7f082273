// activations.h: tanh and its backward over float32 arrays, for the policies' hot path
// (sailfish/policies/activations.py; bound to Python as _native.tanh_ and _native.tanh_backward_).
//
// torch 2.13's CPU tanh kernel is ~3x slower than its sigmoid on AVX2, and an MLP update on a large
// batch spends a third of its time there. sf_tanh_inplace computes tanh(x) = 1 - 2 / (exp(2x) + 1),
// exp by range reduction (2x = n ln2 + r, |r| <= ln2 / 2) and a degree-6 polynomial, in one
// vectorised pass: max abs error 2e-7 against float64 tanh (a float32 ulp near 1), exactly +-1 for
// |x| >= 10. sf_tanh_backward_inplace is grad * (1 - y^2) in one pass, y the forward's output.
// Both are built for AVX-512 and for AVX2 + FMA next to a baseline x86-64 version, the widest the
// CPU has chosen at run time (simd.h), where the compiler supports it.
#ifndef SAILFISH_ACTIVATIONS_H
#define SAILFISH_ACTIVATIONS_H
#include <stddef.h>

void sf_tanh_inplace(float* x, size_t n);
void sf_tanh_backward_inplace(float* grad, const float* y, size_t n);

#endif
