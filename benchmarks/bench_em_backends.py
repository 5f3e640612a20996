"""Benchmark: skgmmvi's two EM backends against each other, and their products alone.

What is measured
----------------
``backend="auto"`` must pick the faster backend; this script measures both on one
cell, in one process, so that they see the same machine load:

* **fits**: EMGaussianMixture (the shared initial parameters of ``bench_em.py``)
  and BayesianGaussianMixture (``init_params="random_from_data"``), ``--iters``
  iterations with ``tol=0``, on ``backend="numpy"`` and ``"tensorflow"`` in turn
  (``--rounds`` times, interleaved), each warmed up first (TensorFlow's tracing
  and the first fit's start-up are not timed). Per backend and round: the
  median wall time and the median process CPU time of ``--repeats`` fits.
* **products** (``--products``): the two matrix products of an iteration alone,
  (K, P) by (P, batch) and (K, batch) by (batch, P) over every chunk, on
  distinct feature chunks (so neither library can reuse a result), with numpy
  (its BLAS) and with TensorFlow (Eigen), in CPU milliseconds per iteration and
  GFLOP/s.

Scikit-learn is not run (``bench_em.py`` and ``bench_bgm.py`` compare against it).

``--threads single`` (default) sets one thread everywhere before anything is
imported (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``,
TensorFlow's pools), so numpy runs one chunk worker; ``default`` leaves every
thread count at its default. The load (``uptime``) is printed before and after.

Usage
-----
::

    python benchmarks/bench_em_backends.py [--threads single|default] [--rounds 2]
                                           [--repeats 5] [--iters 10] [--products]
                                           [--n-samples 100000] [--n-features 16]
                                           [--n-components 16]
"""

import argparse
import os
import statistics
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
              "TF_NUM_INTEROP_THREADS": "1"}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", choices=["single", "default"], default="single")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--products", action="store_true",
                        help="also time the two products of an iteration alone")
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=16)
    parser.add_argument("--n-components", type=int, default=16)
    return parser.parse_args(argv)


def timed_fits(make, X, repeats):
    """Median wall and CPU seconds of ``repeats`` fits of ``make()`` on ``X``."""
    walls, cpus = [], []
    for _ in range(repeats):
        estimator = make()
        wall, cpu = time.perf_counter(), time.process_time()
        estimator.fit(X)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def estimator_factories(args, X):
    """``name -> make(backend)`` for the two estimators, as the sibling benchmarks."""
    import bench_em

    from skgmmvi import BayesianGaussianMixture, EMGaussianMixture

    inits = bench_em.initial_parameters(X, args.n_components, "full")
    common = dict(n_components=args.n_components, max_iter=args.iters, tol=0,
                  random_state=0, init_params="random_from_data")
    return {
        "EM": lambda backend: EMGaussianMixture(backend=backend, **common, **inits),
        "BayesianGaussianMixture": lambda backend: BayesianGaussianMixture(
            backend=backend, **common),
    }


def compare_fits(args, X):
    """Print each estimator's wall and CPU medians per backend and round."""
    factories = estimator_factories(args, X)
    for make in factories.values():  # warm-up: imports, tracing, thread pools
        for backend in ("numpy", "tensorflow"):
            make(backend).set_params(max_iter=1).fit(X[:1000])
    print(f"{'estimator':24s} {'round':>5s} {'backend':11s} {'wall [s]':>9s} "
          f"{'CPU [s]':>8s}  load")
    for name, make in factories.items():
        for round_index in range(1, args.rounds + 1):
            for backend in ("numpy", "tensorflow"):
                wall, cpu = timed_fits(lambda: make(backend), X, args.repeats)
                print(f"{name:24s} {round_index:5d} {backend:11s} {wall:9.3f} "
                      f"{cpu:8.3f}  {os.getloadavg()[0]:.1f}", flush=True)


def compare_products(args):
    """Print the CPU time and GFLOP/s of an iteration's two products alone."""
    import numpy as np
    import tensorflow as tf

    from skgmmvi._inference import n_features_of_phi

    n_phi = n_features_of_phi(args.n_features, "full")
    k, batch = args.n_components, 3096
    n_chunks = -(-args.n_samples // batch)
    rng = np.random.default_rng(0)
    chunks = [rng.standard_normal((n_phi, batch)) for _ in range(n_chunks)]
    coef, resp = rng.standard_normal((k, n_phi)), rng.random((k, batch))
    flops = 2 * 2 * k * n_phi * batch * n_chunks

    def numpy_iteration():
        for phi in chunks:
            coef @ phi
            resp @ phi.T

    tf_chunks = [tf.constant(phi) for phi in chunks]
    tf_coef, tf_resp = tf.constant(coef), tf.constant(resp)

    @tf.function(autograph=False)
    def tensorflow_iteration():
        return [tf.reduce_sum(tf.matmul(tf_coef, phi))
                + tf.reduce_sum(tf.matmul(phi, tf_resp, transpose_b=True))
                for phi in tf_chunks]

    tensorflow_iteration()
    for name, run in (("numpy (BLAS)", numpy_iteration),
                      ("TensorFlow (Eigen)", tensorflow_iteration)):
        cpus = []
        for _ in range(args.repeats):
            cpu = time.process_time()
            run()
            cpus.append(time.process_time() - cpu)
        best = min(cpus)
        print(f"products alone, {name:18s}: {best * 1e3:6.1f} CPU-ms per iteration, "
              f"{flops / best / 1e9:5.1f} GFLOP/s ({n_chunks} chunks of {batch} rows)",
              flush=True)


def main(argv=None):
    args = parse_arguments(argv)
    if args.threads == "single":
        os.environ.update(ONE_THREAD)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.dirname(HERE))  # this checkout of skgmmvi
    import bench_em

    warnings.simplefilter("ignore")
    print("Load before:", bench_em.machine_load())
    print(f"{args.n_samples} x {args.n_features}, K={args.n_components}, full, float64, "
          f"{args.iters} iterations per fit, medians of {args.repeats} fits, "
          f"threads: {args.threads}")
    X = bench_em.make_mixture_data(args.n_samples, args.n_features, args.n_components,
                                   "float64")
    compare_fits(args, X)
    if args.products:
        compare_products(args)
    print("Load after:", bench_em.machine_load())


if __name__ == "__main__":
    main()
