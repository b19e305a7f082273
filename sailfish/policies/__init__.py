"""Policies: plain ``torch.nn.Module``s the trainer drives through a small interface.

The interface (implement it to bring your own module)::

    policy.forward(obs, state) -> (action_params, value, new_state)
        obs:           [B, *obs_shape] as the env gives it (float32 or uint8)
        state:         None for feedforward policies, else a tuple of tensors with batch first
        action_params: [B, dist.param_size], read by ``policy.dist`` (see ``distributions``)
        value:         [B]
    policy.initial_state(batch, device) -> state      # None for feedforward
    policy.dist                                      # Categorical / MultiCategorical / DiagGaussian
                                                     # (sample(params, generator) -> actions, logprob)
    policy.is_recurrent: bool

Recurrent policies also implement the training pass over segments::

    policy.forward_sequence(obs, state, starts) -> (action_params, values, final_state)
        obs [S, L, *obs_shape]; state: the state before each segment's first step; starts [S, L] bool,
        True where an episode began at that step: the state is multiplied by (1 - start) before the
        step, exactly as the trainer does during rollouts.

Feedforward modules need not define ``forward_sequence``/``initial_state``; the trainer flattens
segments and calls ``forward(obs, None)``. ``make_policy(env, config)`` picks the encoder named by
``config.encoder`` ("auto": MLP, CNN or, for a Dict observation holding an image,
``sailfish.policies.combined``; "mmo": ``sailfish.policies.mmo``; "connect4":
``sailfish.policies.board``)
and wraps it in an LSTM when ``config.recurrent``.
"""
from sailfish.policies.distributions import Categorical, DiagGaussian, MultiCategorical, make_distribution
from sailfish.policies.combined import CombinedEncoder
from sailfish.policies.models import CNN, LSTM, MLP, Policy, make_policy

__all__ = ["Policy", "MLP", "CNN", "CombinedEncoder", "LSTM", "make_policy", "make_distribution", "Categorical",
           "MultiCategorical", "DiagGaussian"]
