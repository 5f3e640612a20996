"""Natural-gradient variational inference with Gaussian mixtures (the backend).

One module per step of an iteration, each option a small class behind that
module's interface; :mod:`.iteration` composes them and compiles the result.
"""
