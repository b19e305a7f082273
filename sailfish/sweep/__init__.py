"""Cost-aware hyperparameter search on Optuna: maximise score, minimise wallclock seconds.

``sailfish.sweep.space`` reads search spaces, ``sailfish.sweep.study`` runs and reports sweeps,
``sailfish.sweep.runner`` measures one training run (also used by ``sailfish.ablate``). Importing this
package imports neither Optuna nor torch.
"""
