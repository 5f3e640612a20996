"""Natural-gradient variational inference with Gaussian mixtures (the backend).

One module per step of an iteration, each option a small class behind that
module's interface; :mod:`.design` names the options and their code letters,
:mod:`.iteration` composes them, :mod:`.compile` compiles the result and
:mod:`.run` drives it from the host.
"""
