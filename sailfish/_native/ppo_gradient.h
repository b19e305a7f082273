// ppo_gradient.h: one PPO minibatch's gradient for K actor-critic MLPs with a categorical head, in
// one pass over the rows (sailfish/train/fused_update.py; bound to Python as _native.ppo_gradient).
//
// The network is mlp.h's, its output row [logits z_0 .. z_{A-1}, value v] (w_n = A + 1). For each
// member k over its B rows (means over those rows; coefficients the member's own):
//   loss_k = -mean(min(A' r, A' clip(r, 1 - c, 1 + c))) + vf_coef 0.5 mean(max((v - R)^2, (v_c - R)^2))
//            - ent_coef mean(H),
// r = exp(logp_a - old_logp) (with legal-action masks, of the masked distribution: an illegal
// action's logit is SF_MASKED_LOGIT, as sailfish.policies.distributions.MASKED_LOGIT), A' the advantages (normalised over the member's rows when asked: mean
// 0, std 1 with B - 1 in the variance, as torch's std), v_c = old_v + clip(v - old_v, +-vf_clip)
// (vf_clip <= 0: the unclipped (v - R)^2), H the entropy. The same terms and gradients as
// sailfish.train.ppo.FusedPPOLoss composed with the categorical log-probabilities, to float rounding.
// With live weights w (mean 1 per member, 0 on padding rows) every term is weighted by w, the
// advantages' mean and std are the weighted ones (the std then with B in the variance, as
// ppo.normalize_advantages), and a padding row gives no gradient and nothing to the sums, whatever
// its values (they may be NaN).
//
// Why: composed from torch ops, a minibatch runs ~100 small ops, and the activations the backward
// needs make a round trip through L3. Here each block of rows goes forward, through the loss's
// gradient and back while it is in cache (sf_mlp_gradient); each row's loss term needs only its own
// values and its member's constants.
#ifndef SAILFISH_PPO_GRADIENT_H
#define SAILFISH_PPO_GRADIENT_H
#include <stdint.h>

#include "categorical.h"
#include "mlp.h"

typedef struct {
    const int64_t* actions;     // [K * B], member-major like every per-row array
    const uint8_t* action_masks;  // [K * B, A] nonzero = legal, or NULL (every action legal)
    const float* live;          // [K * B] live weights, or NULL (every row live, weight 1)
    const float* old_logprobs;  // [K * B]: the behaviour policy's log-probabilities of the actions
    const float* advantages;    // [K * B]
    const float* old_values;    // [K * B]
    const float* returns;       // [K * B]
    const float* coefs;         // [K, 4]: clip_coef, vf_clip_coef, vf_coef, ent_coef
    int norm_adv;               // normalise each member's advantages over its rows
    float* ratios;              // out [K * B]: each row's r (NaN for an action outside [0, A))
    double* sums;               // out [K, 3]: each member's sums over rows of w min(...), w max(...), w H
} SfPpoBatch;

// grad_weights / grad_biases as sf_mlp_gradient's (overwritten). Returns 0, or -1 when scratch
// memory could not be allocated or the output is narrower than 2 (one logit and the value).
int sf_ppo_gradient(const SfMlpShape* shape, const float* x, const float* const* weights,
                    const float* const* biases, const SfPpoBatch* batch, float* const* grad_weights,
                    float* const* grad_biases);

#endif
