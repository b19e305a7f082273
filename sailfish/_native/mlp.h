// mlp.h: a tanh MLP's forward and backward for K members at once, fused on CPU (the learner's hot
// path: sailfish/policies/fused_mlp.py; bound to Python as _native.mlp_forward / mlp_backward).
//
// The network, for each member k:  h_0 = x;  h_{i+1} = tanh(h_i W_i^T + b_i) for hidden layers;
// out = h_{n-1} W_{n-1}^T + b_{n-1}. Arrays are C-contiguous float32, member-major:
//   x [K, B, w_0];  weights[i] [K, w_{i+1}, w_i];  biases[i] [K, w_{i+1}];
//   hidden[i] [K, B, w_{i+1}] for i < n - 1 (the tanh outputs, written by the forward and read by
//   the backward);  out and grad_out [K, B, w_n];  grad_weights / grad_biases shaped as their
//   parameters (overwritten, not accumulated).
//
// Why not torch: on a small policy torch runs each layer as separate passes (matmul, bias, tanh; in
// the backward matmul, tanh', bias sum), each over the whole batch, out of cache. Here a block of
// rows goes through every layer while it is in L1/L2, through one register-blocked matmul kernel
// (6-row output tiles of two vectors: 16-float ones with AVX-512, 8-float ones with AVX2 + FMA or
// on the baseline, the widest the CPU has chosen at run time, simd.h). Rows are processed in
// order and sums accumulate in a fixed order, so results are deterministic.
#ifndef SAILFISH_MLP_H
#define SAILFISH_MLP_H
#include <stddef.h>

typedef struct {
    int members;       // K
    int rows;          // B, rows per member
    int layers;        // n >= 1 linear layers
    const int* widths; // n + 1 entries: widths[0] the input, widths[i + 1] layer i's output
} SfMlpShape;

// Return 0, or -1 when scratch memory could not be allocated (nothing is written then), or the
// shape has more than 64 layers.
int sf_mlp_forward(const SfMlpShape* shape, const float* x, const float* const* weights,
                   const float* const* biases, float* const* hidden, float* out);
int sf_mlp_backward(const SfMlpShape* shape, const float* x, const float* const* weights,
                    const float* const* hidden, const float* grad_out, float* const* grad_weights,
                    float* const* grad_biases);

// The gradient of a loss of the output, without storing anything of size B: each block of rows goes
// forward, `loss` turns the block's output into the loss's gradient with respect to it, and the
// block goes back through every layer while its activations are still in cache (ppo_loss.h's
// update is the caller). loss(ctx, k, row, rows, block, ld): `block` holds output rows row ..
// row + rows - 1 of member k, ld floats apart; it overwrites each row's w_n values with d loss / d out.
typedef void (*SfMlpLoss)(void* ctx, int member, int row, int rows, float* block, int ld);
int sf_mlp_gradient(const SfMlpShape* shape, const float* x, const float* const* weights,
                    const float* const* biases, SfMlpLoss loss, void* ctx, float* const* grad_weights,
                    float* const* grad_biases);

// A rollout's forwards, many small batches with the same weights: sf_mlp_pack lays the weights out
// once, as the forward reads them (sf_mlp_packed_size floats), and sf_mlp_forward_packed is then
// sf_mlp_forward without the packing, which costs more than a forward of a few rows.
size_t sf_mlp_packed_size(const SfMlpShape* shape);
void sf_mlp_pack(const SfMlpShape* shape, const float* const* weights, const float* const* biases, float* packed);
void sf_mlp_forward_packed(const SfMlpShape* shape, const float* x, const float* packed, float* const* hidden,
                           float* out);

#endif
