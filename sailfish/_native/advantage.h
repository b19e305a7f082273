// Generalized advantage estimation with V-trace's clipped importance weights.
#ifndef SAILFISH_ADVANTAGE_H
#define SAILFISH_ADVANTAGE_H
#include <stdint.h>

// All arrays are [num_agents, horizon] row-major (one agent's timeline per row) except
// next_values [num_agents], the value of the observation after the last step. Per row,
// backwards over t, with rho = min(ratio, rho_clip) and c = min(ratio, c_clip):
//   terminal:  v_next = 0,           trace cut      (the episode ended by the rules)
//   truncated: v_next = values[t],   trace cut      (bootstrap from the last observed state:
//                                                    with same-step autoreset the final
//                                                    observation is not kept)
//   otherwise: v_next = values[t+1] (next_values at the end of the row)
//   delta_t = rho * (rewards[t] + gamma * v_next - values[t])
//   A_t     = delta_t + gamma * lambda * c * A_{t+1}   (A_{t+1} = 0 across a cut)
// With ratio == 1 this is plain GAE.
void sf_compute_advantages(const float* values, const float* rewards, const uint8_t* terminals,
                           const uint8_t* truncations, const float* ratios,
                           const float* next_values, float* advantages, long num_agents,
                           long horizon, float gamma, float gae_lambda, float rho_clip,
                           float c_clip);
#endif
