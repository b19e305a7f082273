// categorical.h: log-probabilities and entropies of categorical distributions given as rows of
// logits, and their gradient: the PPO update's Categorical.logprob_entropy in two passes
// (sailfish/policies/distributions.py; bound to Python as _native.categorical_forward / _backward).
//
// Row r holds n logits z (rows ld floats apart, so the logits beside a policy head's value column are
// read in place) and the action a_r taken. With lse = log sum_j exp z_j and p_j = exp(z_j - lse):
//   forward:  logp_r = z_a - lse;  entropy_r = -sum_j p_j log p_j;  lse_r is kept for the backward;
//   backward: grad_rj = g_logp_r (1[j = a_r] - p_j) - g_entropy_r p_j (log p_j + entropy_r).
// Sums are taken over z - max z, so any finite logits (a masked action's -1e9 included: p = 0, and it
// adds nothing) are safe. An action outside [0, n) gives a NaN log-probability and no gradient term.
// torch computes the same with ~10 tensor ops and their autograd nodes; here it is one pass each way.
#ifndef SAILFISH_CATEGORICAL_H
#define SAILFISH_CATEGORICAL_H
#include <stddef.h>
#include <stdint.h>

// An illegal action's logit, as sailfish.policies.distributions.MASKED_LOGIT: large and finite, so
// exp() of it underflows to exactly 0.
#define SF_MASKED_LOGIT (-1e9f)

void sf_categorical_forward(const float* logits, size_t ld, const int64_t* actions, size_t rows, int n,
                            float* logp, float* entropy, float* lse);
// grad_logp or grad_entropy may be NULL (a zero gradient); grad is [rows, n], contiguous.
void sf_categorical_backward(const float* logits, size_t ld, const int64_t* actions, const float* lse,
                             const float* entropy, const float* grad_logp, const float* grad_entropy,
                             size_t rows, int n, float* grad);

// A rollout's sample (Categorical.sample): per row, the logits with illegal actions (masks[r * n + j]
// == 0; masks NULL: every action legal) replaced by SF_MASKED_LOGIT, their log-softmax logp, the
// Gumbel-max action a = argmax_j logp_j - log e_j for the row's Exp(1) draws e (noise [rows, n]; the
// first maximum wins, as torch's argmax) and its log-probability logp_a.
void sf_categorical_sample(const float* logits, size_t ld, size_t rows, int n, const float* noise,
                           const uint8_t* masks, int64_t* actions, float* logp);

#endif
