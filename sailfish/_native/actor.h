// actor.h: one rollout step of K actor-critic MLPs with a categorical head, in one call
// (sailfish/train/fused_act.py; bound to Python as _native.mlp_act): mlp.h's forward of every
// member's rows from weights packed once per collection (sf_mlp_pack), then categorical.h's sample
// from each row's logits, the head's first n = w_n - 1 outputs; the last output is the value.
//
// Why: through torch, a step of a small policy is ~15 ops and their Python, ~190 us for 32 rows of
// cartpole's 2x64 MLP on one core, where the arithmetic is a few us; a slow env's async collection
// and a population's rollouts pay it on every batch.
#ifndef SAILFISH_ACTOR_H
#define SAILFISH_ACTOR_H
#include <stdint.h>

#include "mlp.h"

// x [K, B, w_0]; packed: sf_mlp_pack's weights; noise [K * B, n] Exp(1) draws; masks [K * B, n]
// (nonzero = legal) or NULL; writes actions [K * B], logp [K * B] and value [K * B]. Returns 0, or
// -1 when scratch memory could not be allocated or w_n < 2 (nothing is written then).
int sf_mlp_act(const SfMlpShape* shape, const float* x, const float* packed, const float* noise,
               const uint8_t* masks, int64_t* actions, float* logp, float* value);

#endif
