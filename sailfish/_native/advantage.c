#include "advantage.h"

// How the transition of a live step ends: its own flags, else those carried back from padding.
enum { SF_CONTINUES = 0, SF_TERMINATED = 1, SF_TRUNCATED = 2 };

// One row, every step live.
static void plain_row(const float* values, const float* rewards, const uint8_t* terminals, const uint8_t* truncations,
                      const float* ratios, float next_value, float* advantages, long horizon, float gamma,
                      float gae_lambda, float rho_clip, float c_clip) {
    float adv = 0.0f;
    for (long t = horizon - 1; t >= 0; t--) {
        const float value = values[t];
        float v_next = next_value, cont = 1.0f;
        if (terminals[t]) { v_next = 0.0f; cont = 0.0f; }
        else if (truncations[t]) { v_next = value; cont = 0.0f; }
        const float ratio = ratios[t];
        const float rho = ratio < rho_clip ? ratio : rho_clip;
        const float c = ratio < c_clip ? ratio : c_clip;
        const float delta = rho * (rewards[t] + gamma * v_next - value);
        adv = delta + gamma * gae_lambda * c * cont * adv;
        advantages[t] = adv;
        next_value = value;
    }
}

// One row with padding steps (masks 0), transparent as advantage.h says; next_live: masks of the
// observation after the row's last step.
static void padded_row(const float* values, const float* rewards, const uint8_t* terminals,
                       const uint8_t* truncations, const uint8_t* masks, int next_live, const float* ratios,
                       float next_value, float* advantages, long horizon, float gamma, float gae_lambda,
                       float rho_clip, float c_clip) {
    float adv = 0.0f;
    // What the padding steps after the current one hand to the live step before them.
    float carried_reward = 0.0f;
    int carried_end = next_live ? SF_CONTINUES : SF_TRUNCATED;
    for (long t = horizon - 1; t >= 0; t--) {
        const int end = terminals[t] ? SF_TERMINATED : (truncations[t] ? SF_TRUNCATED : SF_CONTINUES);
        if (!masks[t]) {
            carried_reward = end ? rewards[t] : rewards[t] + carried_reward;
            if (end) carried_end = end;
            advantages[t] = 0.0f;
            continue;
        }
        const float value = values[t];
        const float reward = end ? rewards[t] : rewards[t] + carried_reward;
        const int ends = end ? end : carried_end;
        carried_reward = 0.0f;
        carried_end = SF_CONTINUES;
        float v_next = next_value, cont = 1.0f;
        if (ends == SF_TERMINATED) { v_next = 0.0f; cont = 0.0f; }
        else if (ends == SF_TRUNCATED) { v_next = value; cont = 0.0f; }
        const float ratio = ratios[t];
        const float rho = ratio < rho_clip ? ratio : rho_clip;
        const float c = ratio < c_clip ? ratio : c_clip;
        const float delta = rho * (reward + gamma * v_next - value);
        adv = delta + gamma * gae_lambda * c * cont * adv;
        advantages[t] = adv;
        next_value = value;
    }
}

void sf_compute_advantages(const float* values, const float* rewards, const uint8_t* terminals,
                           const uint8_t* truncations, const uint8_t* masks, const uint8_t* next_masks,
                           const float* ratios, const float* next_values, float* advantages, long num_agents,
                           long horizon, float gamma, float gae_lambda, float rho_clip, float c_clip) {
    for (long a = 0; a < num_agents; a++) {
        const long row = a * horizon;
        if (masks)
            padded_row(values + row, rewards + row, terminals + row, truncations + row, masks + row,
                       next_masks ? next_masks[a] : 1, ratios + row, next_values[a], advantages + row, horizon,
                       gamma, gae_lambda, rho_clip, c_clip);
        else
            plain_row(values + row, rewards + row, terminals + row, truncations + row, ratios + row, next_values[a],
                      advantages + row, horizon, gamma, gae_lambda, rho_clip, c_clip);
    }
}
