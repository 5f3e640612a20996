"""Profile: where one compiled EM (or BayesianGaussianMixture) iteration spends its time.

Runs the compiled TensorFlow EM loop of :mod:`skgmmvi._tf.em` for a few
iterations under ``tf.profiler`` and prints the summed duration of each kind of
TensorFlow operation (``MatMul``, ``GatherV2``, ``Exp``, ...) per iteration,
with the CPU time and the minor page faults of the process per iteration.
Durations of operations that run at the same time on different threads add
up, and on a loaded machine they include time the thread waited for a core:
read the shares, not the absolute figures. The profiler itself allocates, so
page-fault counts under it are higher than in a plain fit.

The data and the start are those of ``bench_em.py`` (its synthetic mixture and
shared initial parameters), run through a few numpy EM iterations first so that
the profiled iterations see fitted-looking parameters.

Usage
-----
::

    python benchmarks/profile_em_ops.py [--n-samples 100000] [--n-features 16]
                                        [--n-components 16] [--iters 3]
                                        [--batch-size 3102] [--bayesian]
                                        [--tf-threads 0]

``--tf-threads N`` (N > 0) sets TensorFlow's intra- and inter-op pools to N
threads; 0 leaves them at their defaults.
"""

import argparse
import collections
import glob
import os
import resource
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # profile this checkout of skgmmvi
import bench_em  # noqa: E402


def fitted_looking_start(X, n_components, bayesian):
    """Parameters after three numpy iterations from bench_em's shared start.

    Returns
    -------
    estimator : EMGaussianMixture or BayesianGaussianMixture
        The fitted estimator (numpy backend), whose loop tuple starts the profile.
    """
    from skgmmvi import BayesianGaussianMixture, EMGaussianMixture

    warnings.simplefilter("ignore")
    if bayesian:
        return BayesianGaussianMixture(n_components=n_components, max_iter=3, tol=0,
                                       random_state=0, init_params="random_from_data",
                                       backend="numpy").fit(X)
    inits = bench_em.initial_parameters(X, n_components, "full")
    return EMGaussianMixture(n_components=n_components, max_iter=3, tol=0,
                             random_state=0, backend="numpy", **inits).fit(X)


def fit_data(estimator, X, batch_size):
    """The TensorFlow backend's per-fit state for ``estimator`` (its loop hooks)."""
    from skgmmvi._tf.em import FitData

    objective = estimator._loop_objective(X, np.ones(X.shape[0]))
    return FitData(X, np.ones(X.shape[0]), "full", batch_size, "float64",
                   objective=objective)


def operation_times(xplane_file):
    """Summed duration in seconds of each operation type in a profiler trace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xplane_file, "rb") as handle:
        space.ParseFromString(handle.read())
    totals = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" in name and "::" not in name:  # "scope/op_name:OpType"
                    totals[name.rsplit(":", 1)[1]] += event.duration_ps * 1e-12
    return totals


def profile(state, params, n_iters):
    """Run ``n_iters`` iterations under the profiler; return (op times, cpu, faults)."""
    import tensorflow as tf

    state._em_steps_call(params, 1, 0.0, 1e-6, -np.inf)  # trace outside the profile
    with tempfile.TemporaryDirectory() as logdir:
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        cpu = time.process_time()
        tf.profiler.experimental.start(logdir)
        state._em_steps_call(params, n_iters, 0.0, 1e-6, -np.inf)
        tf.profiler.experimental.stop()
        cpu = time.process_time() - cpu
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        (trace,) = glob.glob(os.path.join(logdir, "plugins", "profile", "*",
                                          "*.xplane.pb"))
        return operation_times(trace), cpu, faults


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=16)
    parser.add_argument("--n-components", type=int, default=16)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="rows per chunk (default: the estimator's choice)")
    parser.add_argument("--bayesian", action="store_true",
                        help="profile BayesianGaussianMixture's loop instead of EM's")
    parser.add_argument("--tf-threads", type=int, default=0)
    args = parser.parse_args(argv)
    import tensorflow as tf

    if args.tf_threads > 0:
        tf.config.threading.set_intra_op_parallelism_threads(args.tf_threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.tf_threads)
    X = bench_em.make_mixture_data(args.n_samples, args.n_features, args.n_components,
                                   "float64")
    estimator = fitted_looking_start(X, args.n_components, args.bayesian)
    batch = args.batch_size or estimator._fit_chunk_rows(args.n_features)
    state = fit_data(estimator, X, batch)
    totals, cpu, faults = profile(state, estimator._fitted_parameters(), args.iters)
    print(f"{args.n_samples} x {args.n_features}, K={args.n_components}, full, "
          f"{'BayesianGaussianMixture' if args.bayesian else 'EM'}, {batch} rows per "
          f"chunk; per iteration: CPU {cpu / args.iters * 1e3:.1f} ms, "
          f"{faults / args.iters:.0f} minor page faults; load {os.getloadavg()[0]:.1f}")
    whole = sum(totals.values())
    for name, seconds in totals.most_common(12):
        print(f"  {name:24s} {seconds / args.iters * 1e3:8.1f} ms  {seconds / whole:6.1%}")


if __name__ == "__main__":
    main()
