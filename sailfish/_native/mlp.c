// mlp.c: see mlp.h.
#include "mlp.h"

#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "simd.h"

#define SF_ROW_BLOCK 96  // rows taken through every layer together: a 96 x 64 activation is 24 KB
#define SF_PAD 16        // packed operands are padded to whole 16-float column tiles

static inline int pad16(int n) { return (n + SF_PAD - 1) / SF_PAD * SF_PAD; }

// ---------------------------------------------------------------- the matmul kernel
// C[m, j] = init[j] + sum_p A(m, p) B[p, j] (SF_ACCUMULATE: C[m, j] += the sum), for m < M, j < N;
// A(m, p) = a[m * sam + p * sap] (any strides: rows of an activation or, transposed, its columns);
// B row-major with ldb, readable (finite or not, unused) up to column pad16(N); init NULL or pad16(N)
// readable. SF_WHOLE_TILES: C's rows may be written up to column pad16(N) (scratch padded to whole
// tiles; what lands in columns >= N is not to be read): every tile is stored as whole vectors,
// where a partial one went through the stack (a store-forwarding stall: a 3-wide head's forward
// took twice as long as a 16-wide one's). The output is computed in tiles of up to 6 rows x 2 vectors of columns held in
// registers: 8-float vectors (AVX2, or what the baseline makes of them), or 16-float ones where the
// CPU has AVX-512 (x86-64-v4), which doubles the multiply-adds per instruction.
#define SF_ACCUMULATE 1
#define SF_WHOLE_TILES 2

#if defined(__GNUC__)
// The vector helpers return vectors; they are always inlined, so the calling convention the
// warning is about never applies.
#pragma GCC diagnostic ignored "-Wpsabi"

// sf_v<W>: W floats; sf_load<W>; sf_store_row<W>: store the first nc (<= W * nv) columns of a tile
// row, adding what is there when accumulating.
#define SF_DEFINE_LANES(W)                                                                            \
    typedef float sf_v##W __attribute__((vector_size(4 * W)));                                        \
    SF_ALWAYS_INLINE sf_v##W sf_load##W(const float* p) {                                                    \
        sf_v##W v;                                                                                    \
        memcpy(&v, p, sizeof v);                                                                      \
        return v;                                                                                     \
    }                                                                                                 \
    SF_ALWAYS_INLINE void sf_store_row##W(float* c, const sf_v##W* t0, const sf_v##W* t1, int nv, int nc,   \
                                   int accumulate) {                                                  \
        sf_v##W v0 = *t0, v1 = *t1;                                                                   \
        if (nc == W * nv) {                                                                           \
            if (accumulate) v0 += sf_load##W(c);                                                      \
            memcpy(c, &v0, sizeof v0);                                                                \
            if (nv == 2) {                                                                            \
                if (accumulate) v1 += sf_load##W(c + W);                                              \
                memcpy(c + W, &v1, sizeof v1);                                                        \
            }                                                                                         \
            return;                                                                                   \
        }                                                                                             \
        float t[2 * W];                                                                               \
        memcpy(t, &v0, sizeof v0);                                                                    \
        memcpy(t + W, &v1, sizeof v1);                                                                \
        for (int j = 0; j < nc; j++) c[j] = accumulate ? c[j] + t[j] : t[j];                          \
    }
SF_DEFINE_LANES(8)
SF_DEFINE_LANES(16)

#define SF_ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define SF_ROWS4(X) X(0) X(1) X(2) X(3)
#define SF_ROWS2(X) X(0) X(1)
#define SF_ROWS1(X) X(0)
#define SF_TILE_DECL(r) SF_V c##r##0 = i0, c##r##1 = i1; const float* a##r = a + (r) * sam;
#define SF_TILE_FMA2(r) { const float s = a##r[p * sap]; c##r##0 += b0 * s; c##r##1 += b1 * s; }
#define SF_TILE_FMA1(r) { const float s = a##r[p * sap]; c##r##0 += b0 * s; }
#define SF_TILE_STORE(r) SF_STORE(c + (r) * ldc, &c##r##0, &c##r##1, nv, nc, accumulate);

// One tile of ROWS rows x SF_LANES * NV columns, in the vectors SF_V; written out per row count so
// its accumulators are registers (an array indexed by a runtime row count spilled to the stack and
// ran at half speed).
#define SF_DEFINE_TILE(NAME, ROWS, NV, FMA)                                                           \
    SF_ALWAYS_INLINE void NAME(int k, const float* a, long sam, long sap, const float* b, long ldb, float* c, \
                        long ldc, int nc, const float* init, int accumulate) {                        \
        const int nv = NV;                                                                            \
        SF_V i0 = {0}, i1 = {0};                                                                      \
        if (init) {                                                                                   \
            i0 = SF_LOAD(init);                                                                       \
            if (nv == 2) i1 = SF_LOAD(init + SF_LANES);                                               \
        }                                                                                             \
        ROWS(SF_TILE_DECL)                                                                            \
        for (int p = 0; p < k; p++) {                                                                 \
            const SF_V b0 = SF_LOAD(b + p * ldb);                                                     \
            const SF_V b1 = nv == 2 ? SF_LOAD(b + p * ldb + SF_LANES) : i1;                           \
            (void)b1;                                                                                 \
            ROWS(FMA)                                                                                 \
        }                                                                                             \
        ROWS(SF_TILE_STORE)                                                                           \
    }

// The driver over column blocks of two vectors (one for a block's last <= SF_LANES columns: every
// read stays within pad16(N), as the packing guarantees) and row tiles of 6, 4, 2, 1.
#define SF_TILE_ARGS k, a + m * sam, sam, sap, b + n, ldb, c + m * ldc + n, ldc, stored, init ? init + n : NULL, accumulate
#define SF_DEFINE_GEMM(NAME, T)                                                                       \
    static void NAME(int M, int N, int k, const float* a, long sam, long sap, const float* b, long ldb, \
                     float* c, long ldc, const float* init, int flags) {                              \
        const int accumulate = flags & SF_ACCUMULATE;                                                 \
        for (int n = 0; n < N; n += 2 * SF_LANES) {                                                   \
            const int nc = N - n < 2 * SF_LANES ? N - n : 2 * SF_LANES;                               \
            const int stored = !(flags & SF_WHOLE_TILES) ? nc : nc > SF_LANES ? 2 * SF_LANES : SF_LANES; \
            int m = 0;                                                                                \
            if (nc > SF_LANES) {                                                                      \
                for (; m + 6 <= M; m += 6) T##6x2(SF_TILE_ARGS);                                      \
                for (; m + 4 <= M; m += 4) T##4x2(SF_TILE_ARGS);                                      \
                for (; m + 2 <= M; m += 2) T##2x2(SF_TILE_ARGS);                                      \
                for (; m < M; m++) T##1x2(SF_TILE_ARGS);                                              \
            } else {                                                                                  \
                for (; m + 6 <= M; m += 6) T##6x1(SF_TILE_ARGS);                                      \
                for (; m + 4 <= M; m += 4) T##4x1(SF_TILE_ARGS);                                      \
                for (; m + 2 <= M; m += 2) T##2x1(SF_TILE_ARGS);                                      \
                for (; m < M; m++) T##1x1(SF_TILE_ARGS);                                              \
            }                                                                                         \
        }                                                                                             \
    }
#define SF_DEFINE_TILES(T)                                                                            \
    SF_DEFINE_TILE(T##6x2, SF_ROWS6, 2, SF_TILE_FMA2)                                                 \
    SF_DEFINE_TILE(T##4x2, SF_ROWS4, 2, SF_TILE_FMA2)                                                 \
    SF_DEFINE_TILE(T##2x2, SF_ROWS2, 2, SF_TILE_FMA2)                                                 \
    SF_DEFINE_TILE(T##1x2, SF_ROWS1, 2, SF_TILE_FMA2)                                                 \
    SF_DEFINE_TILE(T##6x1, SF_ROWS6, 1, SF_TILE_FMA1)                                                 \
    SF_DEFINE_TILE(T##4x1, SF_ROWS4, 1, SF_TILE_FMA1)                                                 \
    SF_DEFINE_TILE(T##2x1, SF_ROWS2, 1, SF_TILE_FMA1)                                                 \
    SF_DEFINE_TILE(T##1x1, SF_ROWS1, 1, SF_TILE_FMA1)

// 8-float vectors: the AVX2 + FMA clone and the baseline.
#define SF_V sf_v8
#define SF_LOAD sf_load8
#define SF_STORE sf_store_row8
#define SF_LANES 8
SF_DEFINE_TILES(sf_tile8_)
SF_VECTOR_KERNEL SF_DEFINE_GEMM(sf_gemm8, sf_tile8_)
#undef SF_V
#undef SF_LOAD
#undef SF_STORE
#undef SF_LANES

#if defined(SF_WIDE_KERNEL)  // 16-float vectors, for CPUs with AVX-512
#define SF_V sf_v16
#define SF_LOAD sf_load16
#define SF_STORE sf_store_row16
#define SF_LANES 16
SF_DEFINE_TILES(sf_tile16_)
SF_WIDE_KERNEL SF_DEFINE_GEMM(sf_gemm16, sf_tile16_)
#undef SF_V
#undef SF_LOAD
#undef SF_STORE
#undef SF_LANES
#endif

static void sf_gemm(int M, int N, int k, const float* a, long sam, long sap, const float* b, long ldb,
                    float* c, long ldc, const float* init, int flags) {
#if defined(SF_WIDE_KERNEL)
    if (sf_has_wide_vectors()) {
        sf_gemm16(M, N, k, a, sam, sap, b, ldb, c, ldc, init, flags);
        return;
    }
#endif
    sf_gemm8(M, N, k, a, sam, sap, b, ldb, c, ldc, init, flags);
}
#else  // no vector extensions: the same contract, plain loops
static void sf_gemm(int M, int N, int k, const float* a, long sam, long sap, const float* b, long ldb,
                    float* c, long ldc, const float* init, int flags) {
    for (int m = 0; m < M; m++)
        for (int j = 0; j < N; j++) {
            float s = init ? init[j] : 0.0f;
            for (int p = 0; p < k; p++) s += a[m * sam + p * sap] * b[p * ldb + j];
            c[m * ldc + j] = (flags & SF_ACCUMULATE) ? c[m * ldc + j] + s : s;
        }
}
#endif

// sum[j] += column j's sum over rows of g (row stride ld), j < n: the loop for each vector width.
SF_ALWAYS_INLINE void sf_column_sums_loop(float* sum, const float* g, int rows, long ld, int n) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) sum[j] += g[r * ld + j];
}
SF_VECTOR_KERNEL static void sf_column_sums8(float* sum, const float* g, int rows, long ld, int n) {
    sf_column_sums_loop(sum, g, rows, ld, n);
}
#if defined(SF_WIDE_KERNEL)
SF_WIDE_KERNEL static void sf_column_sums16(float* sum, const float* g, int rows, long ld, int n) {
    sf_column_sums_loop(sum, g, rows, ld, n);
}
#endif
static void sf_add_column_sums(float* sum, const float* g, int rows, long ld, int n) {
#if defined(SF_WIDE_KERNEL)
    if (sf_has_wide_vectors()) {
        sf_column_sums16(sum, g, rows, ld, n);
        return;
    }
#endif
    sf_column_sums8(sum, g, rows, ld, n);
}

// ---------------------------------------------------------------- the backward's scratch
typedef struct {
    float* base;         // one allocation for everything below
    float* weights[64];  // per layer, this member's W [w_{i+1}, pad16(w_i)] (for the input's gradient)
    float* grad_wt[64];  // per layer, grad W^T [w_i, pad16(w_{i+1})]
    float* grad_b[64];   // per layer, [pad16(w_{i+1})]
    float* g[2];         // two [SF_ROW_BLOCK, pad16(widest)] gradient blocks
    float* hidden[64];   // sf_mlp_gradient only: per hidden layer, one block's tanh outputs [SF_ROW_BLOCK, pad16(w_{i+1})]
} SfScratch;

static int sf_scratch_alloc(SfScratch* sc, const SfMlpShape* s, int block_hidden) {
    const int n = s->layers;
    const int* w = s->widths;
    if (n < 1 || n > 64) return -1;
    size_t total = 0, widest = 0;
    for (int i = 0; i < n; i++) {
        total += (size_t)w[i + 1] * pad16(w[i]) + (size_t)(w[i] + 1) * pad16(w[i + 1]);
        if ((size_t)pad16(w[i + 1]) > widest) widest = pad16(w[i + 1]);
        if (block_hidden && i < n - 1) total += (size_t)SF_ROW_BLOCK * pad16(w[i + 1]);
    }
    total += 2 * (size_t)SF_ROW_BLOCK * widest;
    // zeroed: padding columns are read by the kernel (into outputs it never stores), so they hold 0
    sc->base = calloc(total, sizeof(float));
    if (!sc->base) return -1;
    float* p = sc->base;
    for (int i = 0; i < n; i++) {
        sc->weights[i] = p;
        p += (size_t)w[i + 1] * pad16(w[i]);
        sc->grad_wt[i] = p;
        p += (size_t)w[i] * pad16(w[i + 1]);
        sc->grad_b[i] = p;
        p += pad16(w[i + 1]);
    }
    sc->g[0] = p;
    sc->g[1] = p + SF_ROW_BLOCK * widest;
    p += 2 * (size_t)SF_ROW_BLOCK * widest;
    for (int i = 0; block_hidden && i < n - 1; i++) {
        sc->hidden[i] = p;
        p += (size_t)SF_ROW_BLOCK * pad16(w[i + 1]);
    }
    return 0;
}

// Member k's backward begins: its weights padded for the input's gradient, the sums zeroed.
static void sf_backward_begin(SfScratch* sc, const SfMlpShape* s, const float* const* weights, int k) {
    const int* w = s->widths;
    for (int i = 0; i < s->layers; i++) {
        const int in = w[i], outw = w[i + 1], ld = pad16(in);
        const float* W = weights[i] + (size_t)k * outw * in;
        for (int o = 0; o < outw; o++) memcpy(sc->weights[i] + (size_t)o * ld, W + (size_t)o * in, sizeof(float) * in);
        memset(sc->grad_wt[i], 0, sizeof(float) * (size_t)in * pad16(outw));
        memset(sc->grad_b[i], 0, sizeof(float) * pad16(outw));
    }
}

// One block of rb rows back through every layer: sc->g[0] holds the output's gradient [rb,
// pad16(w_n)] (overwritten); inputs[i] are layer i's input rows, ld[i] floats apart (x's, then each
// hidden layer's tanh outputs). The weight and bias gradients accumulate in sc.
static void sf_backward_block(SfScratch* sc, const SfMlpShape* s, const float* const* inputs, const int* ld, int rb) {
    const int* w = s->widths;
    float* g = sc->g[0];
    float* next = sc->g[1];
    for (int i = s->layers - 1; i >= 0; i--) {
        const int in = w[i], outw = w[i + 1], ldg = pad16(outw);
        // grad W_i^T [in, outw] += inp^T g: rows of the block are the reduction
        sf_gemm(in, outw, rb, inputs[i], 1, ld[i], g, ldg, sc->grad_wt[i], ldg, NULL, SF_ACCUMULATE | SF_WHOLE_TILES);
        sf_add_column_sums(sc->grad_b[i], g, rb, ldg, outw);
        if (i > 0) {  // the input's gradient g W_i, then through tanh: * (1 - h^2)
            const int ldn = pad16(in);
            sf_gemm(rb, in, outw, g, ldg, 1, sc->weights[i], ldn, next, ldn, NULL, SF_WHOLE_TILES);
            for (int r = 0; r < rb; r++) sf_tanh_backward_inplace(next + (size_t)r * ldn, inputs[i] + (size_t)r * ld[i], in);
            float* t = g;
            g = next;
            next = t;
        }
    }
}

// Member k's sums, transposed back, into its slices of the outputs.
static void sf_backward_end(const SfScratch* sc, const SfMlpShape* s, int k, float* const* grad_weights,
                            float* const* grad_biases) {
    const int* w = s->widths;
    for (int i = 0; i < s->layers; i++) {
        const int in = w[i], outw = w[i + 1], ldg = pad16(outw);
        float* gw = grad_weights[i] + (size_t)k * outw * in;
        for (int o = 0; o < outw; o++)
            for (int p = 0; p < in; p++) gw[(size_t)o * in + p] = sc->grad_wt[i][(size_t)p * ldg + o];
        memcpy(grad_biases[i] + (size_t)k * outw, sc->grad_b[i], sizeof(float) * outw);
    }
}

// ---------------------------------------------------------------- forward and backward
// The forward's packed weights: per member, per layer, W_i^T zero-padded to whole 16-column tiles,
// then the padded bias (floats per member and layer: (w_i + 1) * pad16(w_{i+1})).
static size_t sf_mlp_packed_member_size(const SfMlpShape* s) {
    size_t per_member = 0;
    for (int i = 0; i < s->layers; i++) per_member += (size_t)(s->widths[i] + 1) * pad16(s->widths[i + 1]);
    return per_member;
}

size_t sf_mlp_packed_size(const SfMlpShape* s) { return sf_mlp_packed_member_size(s) * (size_t)s->members; }

void sf_mlp_pack(const SfMlpShape* s, const float* const* weights, const float* const* biases, float* packed) {
    const int n = s->layers;
    const int* w = s->widths;
    for (int k = 0; k < s->members; k++) {
        for (int i = 0; i < n; i++) {  // W^T, zero-padded to whole column tiles, then the padded bias
            const int in = w[i], outw = w[i + 1], ld = pad16(outw);
            const float* W = weights[i] + (size_t)k * outw * in;
            for (int p = 0; p < in; p++) {
                float* row = packed + (size_t)p * ld;
                for (int j = 0; j < outw; j++) row[j] = W[(size_t)j * in + p];
                for (int j = outw; j < ld; j++) row[j] = 0.0f;
            }
            packed += (size_t)in * ld;
            memcpy(packed, biases[i] + (size_t)k * outw, sizeof(float) * outw);
            for (int j = outw; j < ld; j++) packed[j] = 0.0f;
            packed += ld;
        }
    }
}

// Member k's packed layers (sf_mlp_pack's layout), layer by layer, into layer[0..n).
static void sf_member_layers(const SfMlpShape* s, const float* packed, int k, const float** layer) {
    const int* w = s->widths;
    packed += sf_mlp_packed_member_size(s) * (size_t)k;
    for (int i = 0; i < s->layers; i++) {
        layer[i] = packed;
        packed += (size_t)(w[i] + 1) * pad16(w[i + 1]);
    }
}

// One block of rb rows forward through every layer: layer i's output rows go to dst[i], ld[i]
// floats apart (ld[i] = the width, or pad16 of it with SF_WHOLE_TILES in flags), tanh applied on
// hidden layers; in is the block's input rows, w_0 floats apart.
static void sf_forward_block(const SfMlpShape* s, const float* const* layer, const float* in, int rb,
                             float* const* dst, const int* ld, int flags) {
    const int n = s->layers;
    const int* w = s->widths;
    long in_ld = w[0];
    for (int i = 0; i < n; i++) {
        const int outw = w[i + 1], ldw = pad16(outw);
        sf_gemm(rb, outw, w[i], in, in_ld, 1, layer[i], ldw, dst[i], ld[i], layer[i] + (size_t)w[i] * ldw, flags);
        if (i < n - 1) sf_tanh_inplace(dst[i], (size_t)rb * ld[i]);  // padding columns too: they are scratch
        in = dst[i];
        in_ld = ld[i];
    }
}

void sf_mlp_forward_packed(const SfMlpShape* s, const float* x, const float* packed, float* const* hidden, float* out) {
    const int n = s->layers, B = s->rows;
    const int* w = s->widths;
    const float* layer[64];
    float* dst[64];
    int ld[64];
    for (int i = 0; i < n; i++) ld[i] = w[i + 1];
    for (int k = 0; k < s->members; k++) {
        sf_member_layers(s, packed, k, layer);
        for (int r0 = 0; r0 < B; r0 += SF_ROW_BLOCK) {
            const int rb = B - r0 < SF_ROW_BLOCK ? B - r0 : SF_ROW_BLOCK;
            const size_t row = (size_t)k * B + r0;
            for (int i = 0; i < n; i++) dst[i] = (i < n - 1 ? hidden[i] : out) + row * w[i + 1];
            sf_forward_block(s, layer, x + row * w[0], rb, dst, ld, 0);
        }
    }
}

int sf_mlp_forward(const SfMlpShape* s, const float* x, const float* const* weights,
                   const float* const* biases, float* const* hidden, float* out) {
    if (s->layers < 1 || s->layers > 64) return -1;
    float* packed = malloc(sizeof(float) * (sf_mlp_packed_size(s) + 1));
    if (!packed) return -1;
    sf_mlp_pack(s, weights, biases, packed);
    sf_mlp_forward_packed(s, x, packed, hidden, out);
    free(packed);
    return 0;
}

int sf_mlp_backward(const SfMlpShape* s, const float* x, const float* const* weights,
                    const float* const* hidden, const float* grad_out, float* const* grad_weights,
                    float* const* grad_biases) {
    SfScratch sc;
    if (sf_scratch_alloc(&sc, s, 0) < 0) return -1;
    const int n = s->layers, B = s->rows;
    const int* w = s->widths;
    const int last = w[n], ldl = pad16(last);
    const float* inputs[64];
    int ld[64];
    for (int i = 0; i < n; i++) ld[i] = w[i];  // the caller's x and hidden arrays: dense rows
    for (int k = 0; k < s->members; k++) {
        sf_backward_begin(&sc, s, weights, k);
        for (int r0 = 0; r0 < B; r0 += SF_ROW_BLOCK) {
            const int rb = B - r0 < SF_ROW_BLOCK ? B - r0 : SF_ROW_BLOCK;
            const size_t row = (size_t)k * B + r0;
            // the block's output gradient, padded (the padding columns stay 0 from calloc)
            for (int r = 0; r < rb; r++) memcpy(sc.g[0] + (size_t)r * ldl, grad_out + (row + r) * last, sizeof(float) * last);
            for (int i = 0; i < n; i++) inputs[i] = (i == 0 ? x : hidden[i - 1]) + row * w[i];
            sf_backward_block(&sc, s, inputs, ld, rb);
        }
        sf_backward_end(&sc, s, k, grad_weights, grad_biases);
    }
    free(sc.base);
    return 0;
}

int sf_mlp_gradient(const SfMlpShape* s, const float* x, const float* const* weights, const float* const* biases,
                    SfMlpLoss loss, void* ctx, float* const* grad_weights, float* const* grad_biases) {
    SfScratch sc;
    if (sf_scratch_alloc(&sc, s, 1) < 0) return -1;
    float* packed = malloc(sizeof(float) * (sf_mlp_packed_size(s) + 1));
    if (!packed) {
        free(sc.base);
        return -1;
    }
    sf_mlp_pack(s, weights, biases, packed);
    const int n = s->layers, B = s->rows;
    const int* w = s->widths;
    const float* layer[64];
    const float* inputs[64];
    float* dst[64];
    int ld[64], input_ld[64];
    for (int i = 0; i < n; i++) {  // scratch padded to whole tiles; the output straight into the gradient block
        dst[i] = i < n - 1 ? sc.hidden[i] : sc.g[0];
        ld[i] = pad16(w[i + 1]);
        input_ld[i] = i == 0 ? w[0] : ld[i - 1];
        if (i > 0) inputs[i] = sc.hidden[i - 1];
    }
    for (int k = 0; k < s->members; k++) {
        sf_member_layers(s, packed, k, layer);
        sf_backward_begin(&sc, s, weights, k);
        for (int r0 = 0; r0 < B; r0 += SF_ROW_BLOCK) {
            const int rb = B - r0 < SF_ROW_BLOCK ? B - r0 : SF_ROW_BLOCK;
            inputs[0] = x + ((size_t)k * B + r0) * w[0];
            sf_forward_block(s, layer, inputs[0], rb, dst, ld, SF_WHOLE_TILES);
            loss(ctx, k, r0, rb, sc.g[0], ld[n - 1]);
            sf_backward_block(&sc, s, inputs, input_ld, rb);
        }
        sf_backward_end(&sc, s, k, grad_weights, grad_biases);
    }
    free(packed);
    free(sc.base);
    return 0;
}
