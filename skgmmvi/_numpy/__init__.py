"""The numpy backend: the batched EM algebra of :mod:`skgmmvi._tf` with numpy/BLAS.

Used where TensorFlow would not pay (small and medium in-memory fits, scoring a
fitted model), so that such work never waits for TensorFlow's start-up and
tracing. Nothing here imports TensorFlow; the results equal the TensorFlow
backend's to rounding (tested).
"""
