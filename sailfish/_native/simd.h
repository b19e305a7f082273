// simd.h: how the learner kernels (activations.c, mlp.c) are compiled for the CPU they run on.
//
// GCC on x86-64 Linux: SF_VECTOR_KERNEL builds a function twice, for AVX2 + FMA (x86-64-v3) and
// for the baseline, chosen at load (target_clones); SF_WIDE_KERNEL builds one for AVX-512
// (x86-64-v4) with 512-bit vectors preferred, which a caller runs where sf_has_wide_vectors() says
// the CPU has them (Intel Xeons since Skylake-SP, AMD since Zen 4). Both contract a * b + c to FMA.
// Elsewhere the same C is compiled as the rest, and there is no wide version.
#ifndef SAILFISH_SIMD_H
#define SAILFISH_SIMD_H

// The loop bodies the kernels share are always inlined into each compiled version (vectorised there).
#if defined(__GNUC__)
#define SF_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define SF_ALWAYS_INLINE static inline
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SF_VECTOR_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#define SF_WIDE_KERNEL __attribute__((target("arch=x86-64-v4,prefer-vector-width=512"), optimize("fp-contract=fast")))
static inline int sf_has_wide_vectors(void) { return __builtin_cpu_supports("x86-64-v4"); }
#else
#define SF_VECTOR_KERNEL
#endif

#endif
