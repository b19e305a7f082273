// The registry: the one list of environments. Adding an env = one header + one line here.
#include "vecenv.h"
#include "envs/bandit.h"
#include "envs/breakout.h"
#include "envs/cartpole.h"
#include "envs/connect4.h"
#include "envs/memory.h"
#include "envs/mmo.h"
#include "envs/pong.h"
#include "envs/snake.h"
#include "envs/squared.h"
#include "envs/target.h"

const EnvDesc* const sf_registry[] = {
    &cartpole_desc,
    &squared_desc,
    &bandit_desc,
    &memory_desc,
    &pong_desc,
    &breakout_desc,
    &breakout_pixels_desc,
    &snake_desc,
    &connect4_desc,
    &target_desc,
    &mmo_desc,
};
const int sf_registry_size = (int)(sizeof(sf_registry) / sizeof(sf_registry[0]));
