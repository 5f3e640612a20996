"""The TensorFlow backend: compiled kernels called with numpy arrays.

Nothing here keeps state between calls except the caches of compiled functions.
"""
