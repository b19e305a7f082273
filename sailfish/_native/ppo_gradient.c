// ppo_gradient.c: see ppo_gradient.h.
#include "ppo_gradient.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    const SfPpoBatch* batch;
    int rows;             // B, rows per member
    int actions;          // A, the logits before the value column
    const double* mean;   // [K] each member's advantage mean (0 when not normalised)
    const double* scale;  // [K] its std + 1e-8 (1 when not normalised)
} PpoContext;

#define SF_KEPT_EXP 32

// clamp that lets a NaN through (as torch.clamp does), so a broken row shows in the loss
static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

// SfMlpLoss: member k's output rows row .. row + rows - 1 (ld floats apart) become d loss / d out.
static void ppo_block(void* ctx, int k, int row, int rows, float* block, int ld) {
    const PpoContext* c = ctx;
    const SfPpoBatch* b = c->batch;
    const int A = c->actions;
    const float* coef = b->coefs + 4 * (size_t)k;
    const float clip = coef[0], vclip = coef[1], vf = coef[2], ent = coef[3];
    const float inv_n = 1.0f / (float)c->rows;
    const float mean = (float)c->mean[k], scale = (float)c->scale[k];
    double pg_sum = 0.0, v_sum = 0.0, h_sum = 0.0;
    float kept[SF_KEPT_EXP];  // e^(z_j - max z) of the row's first logits: p_j without a second exp
    for (int r = 0; r < rows; r++) {
        const size_t i = (size_t)k * c->rows + row + r;
        float* z = block + (size_t)r * ld;
        const uint8_t* legal_actions = b->action_masks ? b->action_masks + i * (size_t)A : NULL;
        if (legal_actions)
            for (int j = 0; j < A; j++) z[j] = legal_actions[j] ? z[j] : SF_MASKED_LOGIT;
        // log-softmax over z - max z (categorical.c's sums): entropy and the action's log-probability
        float m = z[0];
        for (int j = 1; j < A; j++) m = z[j] > m ? z[j] : m;
        float sum = 0.0f, weighted = 0.0f;
        for (int j = 0; j < A; j++) {
            const float y = z[j] - m, e = expf(y);
            if (j < SF_KEPT_EXP) kept[j] = e;
            sum += e;
            weighted += e * y;
        }
        // log p_j = (z_j - m) - log_sum, in that order: z_j - (m + log_sum) loses log_sum where the
        // logits are large (a row of masked logits only: -1e9 + log 2 is -1e9 in float32)
        const float log_sum = logf(sum), entropy = log_sum - weighted / sum;
        const int64_t a = b->actions[i];
        const int legal = a >= 0 && a < A;
        const float logp = legal ? (z[a] - m) - log_sum : NAN;
        const float ratio = expf(logp - b->old_logprobs[i]);
        b->ratios[i] = ratio;
        const float w = b->live ? b->live[i] : 1.0f;
        if (!(w > 0.0f)) {  // a padding row: no decision to train, and nothing bounds its values
            for (int j = 0; j <= A; j++) z[j] = 0.0f;
            continue;
        }
        // the clipped surrogate; d/dlogp of -min(...) is -A' r where the unclipped term is the smaller
        const float adv = (b->advantages[i] - mean) / scale;
        const float surr1 = adv * ratio, surr2 = adv * clampf(ratio, 1.0f - clip, 1.0f + clip);
        const float g_logp = (surr1 <= surr2 ? -surr1 * inv_n : 0.0f) * w;
        // the value term; its clipped branch passes a gradient only inside the clip range
        const float v = z[A], diff = v - b->returns[i];
        float v_term, g_v;
        if (vclip > 0.0f) {
            const float delta = v - b->old_values[i];
            const float diff_clipped = b->old_values[i] + clampf(delta, -vclip, vclip) - b->returns[i];
            const float sq = diff * diff, sq_clipped = diff_clipped * diff_clipped;
            v_term = sq >= sq_clipped ? sq : sq_clipped;
            g_v = sq >= sq_clipped || fabsf(delta) <= vclip ? diff * (vf * inv_n) * w : 0.0f;
        } else {
            v_term = diff * diff;
            g_v = diff * (vf * inv_n) * w;
        }
        // the logits' gradient: g_logp (1[j = a] - p_j) + g_entropy (-p_j (log p_j + H))
        const float g_entropy = -ent * inv_n * w;
        const float inv_sum = 1.0f / sum;
        for (int j = 0; j < A; j++) {
            const float log_p = (z[j] - m) - log_sum, p = j < SF_KEPT_EXP ? kept[j] * inv_sum : expf(log_p);
            z[j] = -p * (g_logp + g_entropy * (log_p + entropy));
        }
        if (legal) z[a] += g_logp;
        if (legal_actions)  // a masked logit is a constant: no gradient reaches the network through it
            for (int j = 0; j < A; j++) z[j] = legal_actions[j] ? z[j] : 0.0f;
        z[A] = g_v;
        pg_sum += (double)(surr1 < surr2 || isnan(surr1) ? surr1 : surr2) * w;
        v_sum += (double)v_term * w;
        h_sum += (double)entropy * w;
    }
    double* sums = b->sums + 3 * (size_t)k;
    sums[0] += pg_sum;
    sums[1] += v_sum;
    sums[2] += h_sum;
}

int sf_ppo_gradient(const SfMlpShape* s, const float* x, const float* const* weights, const float* const* biases,
                    const SfPpoBatch* batch, float* const* grad_weights, float* const* grad_biases) {
    const int K = s->members, B = s->rows;
    if (s->widths[s->layers] < 2) return -1;
    double* stats = malloc(sizeof(double) * 2 * (size_t)(K > 0 ? K : 1));
    if (!stats) return -1;
    PpoContext c = {.batch = batch, .rows = B, .actions = s->widths[s->layers] - 1, .mean = stats, .scale = stats + K};
    for (int k = 0; k < K; k++) {
        double mean = 0.0, var = 0.0;
        const float* adv = batch->advantages + (size_t)k * B;
        const float* live = batch->live ? batch->live + (size_t)k * B : NULL;
        if (batch->norm_adv && !live) {  // in double: the std of a whole minibatch, with B - 1 as torch's
            for (int i = 0; i < B; i++) mean += adv[i];
            mean /= B;
            for (int i = 0; i < B; i++) var += (adv[i] - mean) * (adv[i] - mean);
            var = B > 1 ? var / (B - 1) : NAN;
        } else if (batch->norm_adv) {  // the live rows' weighted mean and std (B in the variance)
            for (int i = 0; i < B; i++) mean += live[i] > 0.0f ? (double)adv[i] * live[i] : 0.0;
            mean /= B;
            for (int i = 0; i < B; i++) var += live[i] > 0.0f ? (adv[i] - mean) * (adv[i] - mean) * live[i] : 0.0;
            var /= B;
        }
        stats[k] = mean;
        stats[K + k] = batch->norm_adv ? (double)(float)sqrt(var) + 1e-8 : 1.0;
        for (int j = 0; j < 3; j++) batch->sums[3 * (size_t)k + j] = 0.0;
    }
    const int rc = sf_mlp_gradient(s, x, weights, biases, ppo_block, &c, grad_weights, grad_biases);
    free(stats);
    return rc;
}
