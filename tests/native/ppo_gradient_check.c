// Sanitizer driver for the PPO minibatch gradient (ppo_gradient.c): members, row counts around the
// 96-row block, 1 to 7 actions, advantage normalisation on and off, the value clipped and not, an
// action out of range, legal-action masks (some taken actions illegal, some rows all masked: a
// uniform distribution, as torch gives) and none, live weights (padding rows holding NaN) and
// none. Every array is allocated to its exact size, so a
// read or write past the end is reported. sf_ppo_gradient is checked against the composition it
// replaces: mlp.h's forward, the PPO loss's gradient computed here in double from that output, then
// mlp.h's backward (both checked against double by mlp_check.c), to 1e-4 of each array's largest
// value; the ratios and the loss sums too. Built by tests/test_sanitizer.py under -fsanitize=address,undefined; prints
// "ok <cases checked>".
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ppo_gradient.h"

static float* make(size_t n) { return malloc(sizeof(float) * (n ? n : 1)); }

static unsigned rng = 2024u;
static float uniform(void) {  // in [-1, 1)
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

// |got - want| <= 1e-4 * max|want| (plus a floor) over n values, NaN where want is NaN.
static int close_enough(const float* got, const double* want, size_t n, const char* what) {
    double scale = 1e-6;
    for (size_t i = 0; i < n; i++) scale = isnan(want[i]) ? scale : fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        const int same = isnan(want[i]) ? isnan(got[i]) : fabs((double)got[i] - want[i]) <= 1e-4 * scale;
        if (!same) {
            printf("broken: %s[%zu] = %.7g, expected %.7g\n", what, i, got[i], want[i]);
            return 0;
        }
    }
    return 1;
}

static int check(int K, int B, int A, int norm_adv, float vclip, int masked, int padded) {
    int w[4] = {3, 20, 17, A + 1};
    const int n = 3;
    const size_t rows = (size_t)K * B;
    float *x = make(rows * w[0]), *out = make(rows * w[n]), *grad_out = make(rows * w[n]);
    float *weights[3], *biases[3], *hidden[2], *gw[3], *gb[3], *ref_gw[3], *ref_gb[3];
    for (size_t i = 0; i < rows * w[0]; i++) x[i] = uniform();
    for (int i = 0; i < n; i++) {
        const size_t nw = (size_t)K * w[i + 1] * w[i], nb = (size_t)K * w[i + 1];
        weights[i] = make(nw), biases[i] = make(nb), gw[i] = make(nw), gb[i] = make(nb);
        ref_gw[i] = make(nw), ref_gb[i] = make(nb);
        for (size_t j = 0; j < nw; j++) weights[i][j] = uniform() * 1.5f / sqrtf((float)w[i]);
        for (size_t j = 0; j < nb; j++) biases[i][j] = 0.2f * uniform();
        if (i < n - 1) hidden[i] = make(rows * w[i + 1]);
    }
    int64_t* actions = malloc(sizeof(int64_t) * rows);
    uint8_t* masks = masked ? malloc(rows * (size_t)A) : NULL;
    for (size_t i = 0; masked && i < rows * (size_t)A; i++) masks[i] = uniform() > -0.4f;  // ~70% legal
    float* live = padded ? make(rows) : NULL;  // 0 on ~25% of rows, mean 1 over each member's
    float *old_logp = make(rows), *adv = make(rows), *old_v = make(rows), *ret = make(rows), *ratios = make(rows);
    float* coefs = make(4 * (size_t)K);
    double* sums = malloc(sizeof(double) * 3 * K);
    for (size_t i = 0; i < rows; i++) {
        actions[i] = i == 5 ? A : (int64_t)((uniform() + 1.0f) * 0.5f * A) % A;  // row 5: out of range
        old_logp[i] = -logf((float)A) + 0.4f * uniform();
        adv[i] = 2.0f * uniform() + 0.3f;
        old_v[i] = uniform();
        ret[i] = uniform() * 2.0f;
    }
    for (int k = 0; k < K && padded; k++) {
        double total = 0.0;
        for (int r = 0; r < B; r++) total += live[k * B + r] = uniform() > -0.5f || r == 0 ? 1.0f : 0.0f;
        for (int r = 0; r < B; r++) {
            const size_t i = (size_t)k * B + r;
            live[i] *= (float)(B / total);
            if (live[i] == 0.0f) adv[i] = ret[i] = old_v[i] = old_logp[i] = NAN;  // nothing bounds a padding row
        }
    }
    for (int k = 0; k < K; k++) {
        coefs[4 * k] = 0.1f + 0.1f * k, coefs[4 * k + 1] = k == 1 ? 0.0f : vclip;
        coefs[4 * k + 2] = 0.5f + k, coefs[4 * k + 3] = 0.01f * (k + 1);
    }
    SfMlpShape s = {K, B, n, w};
    SfPpoBatch batch = {actions, masks, live, old_logp, adv, old_v, ret, coefs, norm_adv, ratios, sums};
    int ok = sf_ppo_gradient(&s, x, (const float* const*)weights, (const float* const*)biases, &batch, gw, gb) == 0 &&
             sf_mlp_forward(&s, x, (const float* const*)weights, (const float* const*)biases, hidden, out) == 0;
    if (!ok) printf("broken: an allocation failed\n");
    // the loss's gradient with respect to the output, in double, from the forward's output
    double *want_ratio = malloc(sizeof(double) * rows), want_sums[3 * 8] = {0};
    for (int k = 0; k < K && ok; k++) {
        double mean = 0.0, var = 0.0;
        const float* wk = live ? live + (size_t)k * B : NULL;
        for (int r = 0; r < B; r++) mean += wk ? (wk[r] > 0 ? adv[k * B + r] * wk[r] : 0.0) : adv[k * B + r];
        mean /= B;
        for (int r = 0; r < B; r++) {
            const double d = wk && !(wk[r] > 0) ? 0.0 : adv[k * B + r] - mean;
            var += d * d * (wk ? wk[r] : 1.0);
        }
        // torch's std of the whole minibatch has B - 1; ppo.normalize_advantages' weighted one B
        const double scale = norm_adv ? sqrt(var / (wk ? B : B - 1)) + 1e-8 : 1.0, shift = norm_adv ? mean : 0.0;
        const double clip = coefs[4 * k], vc = coefs[4 * k + 1], vf = coefs[4 * k + 2], ent = coefs[4 * k + 3];
        for (int r = 0; r < B; r++) {
            const size_t i = (size_t)k * B + r;
            float z[8];  // the logits as the distribution sees them: an illegal action's is SF_MASKED_LOGIT
            for (int j = 0; j <= A; j++) z[j] = j < A && masks && !masks[i * A + j] ? SF_MASKED_LOGIT : out[i * w[n] + j];
            float* g = grad_out + i * w[n];
            double m = z[0], sum = 0.0, h = 0.0;
            for (int j = 1; j < A; j++) m = fmax(m, z[j]);
            for (int j = 0; j < A; j++) sum += exp(z[j] - m);
            const double lse = m + log(sum);
            for (int j = 0; j < A; j++) h -= exp(z[j] - lse) * (z[j] - lse);
            const int legal = actions[i] >= 0 && actions[i] < A;
            const double ratio = legal ? exp(z[actions[i]] - lse - old_logp[i]) : NAN;
            const double a = (adv[i] - shift) / scale;
            const double s1 = a * ratio, s2 = a * fmin(fmax(ratio, 1 - clip), 1 + clip);
            want_ratio[i] = ratio;
            const double weight = live ? live[i] : 1.0;
            if (!(weight > 0)) {  // a padding row: no gradient, nothing in the sums
                for (int j = 0; j <= A; j++) g[j] = 0.0f;
                continue;
            }
            const double g_logp = (s1 <= s2 ? -s1 / B : 0.0) * weight, g_ent = -ent / B * weight;
            const double v = z[A], diff = v - ret[i];
            double v_term = diff * diff, g_v = diff * vf / B * weight;
            if (vc > 0) {
                const double delta = v - old_v[i], dc = old_v[i] + fmin(fmax(delta, -vc), vc) - ret[i];
                v_term = fmax(diff * diff, dc * dc);
                g_v = diff * diff >= dc * dc || fabs(delta) <= vc ? g_v : 0.0;
            }
            for (int j = 0; j < A; j++) {
                const double lp = z[j] - lse, p = exp(lp);
                g[j] = (float)(-p * (g_logp + g_ent * (lp + h)) + (legal && j == actions[i] ? g_logp : 0.0));
                if (masks && !masks[i * A + j]) g[j] = 0.0f;  // a masked logit is a constant
            }
            g[A] = (float)g_v;
            if (legal) want_sums[3 * k] += fmin(s1, s2) * weight;
            want_sums[3 * k + 1] += v_term * weight;
            want_sums[3 * k + 2] += h * weight;
        }
    }
    ok = ok && sf_mlp_backward(&s, x, (const float* const*)weights, (const float* const*)hidden, grad_out, ref_gw, ref_gb) == 0;
    for (int i = 0; i < n && ok; i++) {
        const size_t nw = (size_t)K * w[i + 1] * w[i], nb = (size_t)K * w[i + 1];
        double *want_w = malloc(sizeof(double) * nw), *want_b = malloc(sizeof(double) * nb);
        for (size_t j = 0; j < nw; j++) want_w[j] = ref_gw[i][j];
        for (size_t j = 0; j < nb; j++) want_b[j] = ref_gb[i][j];
        ok = close_enough(gw[i], want_w, nw, "grad_weights") && close_enough(gb[i], want_b, nb, "grad_biases");
        free(want_w);
        free(want_b);
    }
    ok = ok && close_enough(ratios, want_ratio, rows, "ratios");
    for (int k = 0; k < K && ok; k++) {
        // the out-of-range row (row 5 of all) makes its member's surrogate sum NaN, as torch's would be
        const int nan_row = rows > 5 && 5 / B == k && !(live && !(live[5] > 0));
        if (nan_row ? !isnan(sums[3 * k]) : !(fabs(sums[3 * k] - want_sums[3 * k]) <= 1e-3 * (1 + fabs(want_sums[3 * k])))) {
            printf("broken: sums[%d][0] = %g, expected %g\n", k, sums[3 * k], nan_row ? NAN : want_sums[3 * k]);
            ok = 0;
        }
        for (int j = 1; j < 3 && ok; j++)
            if (!(fabs(sums[3 * k + j] - want_sums[3 * k + j]) <= 1e-3 * (1 + fabs(want_sums[3 * k + j])))) {
                printf("broken: sums[%d][%d] = %g, expected %g\n", k, j, sums[3 * k + j], want_sums[3 * k + j]);
                ok = 0;
            }
    }
    if (!ok) printf("in case K=%d B=%d A=%d norm_adv=%d vclip=%g masked=%d padded=%d\n", K, B, A, norm_adv, vclip,
                    masked, padded);
    for (int i = 0; i < n; i++) {
        free(weights[i]), free(biases[i]), free(gw[i]), free(gb[i]), free(ref_gw[i]), free(ref_gb[i]);
        if (i < n - 1) free(hidden[i]);
    }
    free(x), free(out), free(grad_out), free(actions), free(old_logp), free(adv), free(old_v), free(ret);
    free(ratios), free(coefs), free(sums), free(want_ratio), free(masks), free(live);
    return ok;
}

int main(void) {
    static const int members[] = {1, 3}, rows[] = {2, 7, 95, 96, 97, 200}, actions[] = {1, 2, 7};
    int cases = 0;
    for (int a = 0; a < 3; a++)
        for (int m = 0; m < 2; m++)
            for (int r = 0; r < 6; r++)
                for (int norm = 0; norm < 2; norm++)
                    for (int masked = 0; masked < 2; masked++)
                        for (int padded = 0; padded < 2; padded++) {
                            if (!check(members[m], rows[r], actions[a], norm, norm ? 0.2f : 0.0f, masked, padded))
                                return 1;
                            cases++;
                        }
    printf("ok %d\n", cases);
    return 0;
}
