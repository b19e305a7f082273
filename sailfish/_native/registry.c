// The registry: the one list of environments. Adding an env = one header + one line here.
#include "vecenv.h"
#include "envs/bandit.h"
#include "envs/cartpole.h"
#include "envs/memory.h"
#include "envs/squared.h"

const EnvDesc* const sf_registry[] = {
    &cartpole_desc,
    &squared_desc,
    &bandit_desc,
    &memory_desc,
};
const int sf_registry_size = (int)(sizeof(sf_registry) / sizeof(sf_registry[0]));
