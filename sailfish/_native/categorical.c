// categorical.c: see categorical.h.
#include "categorical.h"

#include <math.h>

void sf_categorical_forward(const float* logits, size_t ld, const int64_t* actions, size_t rows, int n,
                            float* logp, float* entropy, float* lse) {
    for (size_t r = 0; r < rows; r++) {
        const float* z = logits + r * ld;
        float m = z[0];
        for (int j = 1; j < n; j++) m = z[j] > m ? z[j] : m;
        float sum = 0.0f, weighted = 0.0f;  // sum_j e^(z_j - m), sum_j e^(z_j - m) (z_j - m)
        for (int j = 0; j < n; j++) {
            const float y = z[j] - m, e = expf(y);
            sum += e;
            weighted += e * y;
        }
        const float log_sum = logf(sum);  // lse - m, in [0, log n]
        const int64_t a = actions[r];
        logp[r] = a >= 0 && a < n ? z[a] - m - log_sum : NAN;
        entropy[r] = log_sum - weighted / sum;
        lse[r] = m + log_sum;
    }
}

void sf_categorical_backward(const float* logits, size_t ld, const int64_t* actions, const float* lse,
                             const float* entropy, const float* grad_logp, const float* grad_entropy,
                             size_t rows, int n, float* grad) {
    for (size_t r = 0; r < rows; r++) {
        const float* z = logits + r * ld;
        float* g = grad + r * (size_t)n;
        const float gl = grad_logp ? grad_logp[r] : 0.0f, ge = grad_entropy ? grad_entropy[r] : 0.0f;
        const float h = entropy[r], shift = lse[r];
        for (int j = 0; j < n; j++) {
            const float log_p = z[j] - shift, p = expf(log_p);
            g[j] = -p * (gl + ge * (log_p + h));
        }
        const int64_t a = actions[r];
        if (a >= 0 && a < n) g[a] += gl;
    }
}

void sf_categorical_sample(const float* logits, size_t ld, size_t rows, int n, const float* noise,
                           const uint8_t* masks, int64_t* actions, float* logp) {
    for (size_t r = 0; r < rows; r++) {
        const float* z = logits + r * ld;
        const float* e = noise + r * (size_t)n;
        const uint8_t* legal = masks ? masks + r * (size_t)n : NULL;
#define SF_LOGIT(j) (legal && !legal[j] ? SF_MASKED_LOGIT : z[j])
        float m = SF_LOGIT(0);
        for (int j = 1; j < n; j++) m = SF_LOGIT(j) > m ? SF_LOGIT(j) : m;
        float sum = 0.0f;
        for (int j = 0; j < n; j++) sum += expf(SF_LOGIT(j) - m);
        const float log_sum = logf(sum);
        int best = 0;
        float best_score = 0.0f, best_logp = 0.0f;
        for (int j = 0; j < n; j++) {  // (z - m) - log_sum, as torch's log_softmax
            const float lp = (SF_LOGIT(j) - m) - log_sum, score = lp - logf(e[j]);
            if (j == 0 || score > best_score) best = j, best_score = score, best_logp = lp;
        }
#undef SF_LOGIT
        actions[r] = best;
        logp[r] = best_logp;
    }
}
