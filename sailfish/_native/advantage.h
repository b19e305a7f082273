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
//
// masks (NULL: every step is live) marks the steps whose observation the row's agent acted on;
// next_masks [num_agents] (NULL: live) the same for the observation after the last step. Padding
// steps (mask 0: an opponent's turn, a dead agent) are transparent: each live step's transition
// runs to the row's next live step, its reward is its own plus the padding steps' in between (up
// to and including the first that ends the episode, whose end it takes), and t+1 above means
// that next live step. Rewards of padding after an episode's end with no live step of that
// episode before them have no decision to credit and are dropped. A row whose last observation
// is padding bootstraps its last live step as truncated (the value of a padding observation is
// never trained). Padding steps get advantage 0. With every step live this is the recursion above.
void sf_compute_advantages(const float* values, const float* rewards, const uint8_t* terminals,
                           const uint8_t* truncations, const uint8_t* masks, const uint8_t* next_masks,
                           const float* ratios, const float* next_values, float* advantages, long num_agents,
                           long horizon, float gamma, float gae_lambda, float rho_clip, float c_clip);
#endif
