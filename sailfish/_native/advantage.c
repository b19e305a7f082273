#include "advantage.h"

void sf_compute_advantages(const float* values, const float* rewards, const uint8_t* terminals,
                           const uint8_t* truncations, const float* ratios,
                           const float* next_values, float* advantages, long num_agents,
                           long horizon, float gamma, float gae_lambda, float rho_clip,
                           float c_clip) {
    for (long a = 0; a < num_agents; a++) {
        const long row = a * horizon;
        float next_value = next_values[a];
        float adv = 0.0f;
        for (long t = horizon - 1; t >= 0; t--) {
            const long i = row + t;
            const float value = values[i];
            float v_next = next_value, cont = 1.0f;
            if (terminals[i]) { v_next = 0.0f; cont = 0.0f; }
            else if (truncations[i]) { v_next = value; cont = 0.0f; }
            const float ratio = ratios[i];
            const float rho = ratio < rho_clip ? ratio : rho_clip;
            const float c = ratio < c_clip ? ratio : c_clip;
            const float delta = rho * (rewards[i] + gamma * v_next - value);
            adv = delta + gamma * gae_lambda * c * cont * adv;
            advantages[i] = adv;
            next_value = value;
        }
    }
}
