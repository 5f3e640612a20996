"""Fit with and without a MirroredStrategy over two logical CPUs; print JSON.

Run by tests/test_distributed.py in a fresh process, because logical devices
must be configured before TensorFlow initialises its runtime.
"""

import json
import sys
import warnings

import numpy as np


def main():
    from skgmmvi._tf._runtime import tensorflow

    tf = tensorflow()
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    from sklearn.exceptions import ConvergenceWarning

    from skgmmvi import BayesianGaussianMixture, EMGaussianMixture, MLEGaussianMixture

    warnings.simplefilter("ignore", ConvergenceWarning)
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(300, 3) + 3, rng.randn(301, 3) @ np.diag([1, 2, .5]) - 2])
    weight = rng.uniform(0.5, 2.0, len(X))
    report = {"n_replicas": int(strategy.num_replicas_in_sync)}
    for name, kwargs in {
        "mle_full_batch": dict(batch_size=None),
        "mle_mini_batch": dict(batch_size=64, shuffle=False),
        "mle_full_batch_sgd": dict(batch_size=None, optimizer="sgd"),
        "mle_mini_batch_sgd": dict(batch_size=64, shuffle=False, optimizer="sgd"),
    }.items():
        common = dict(n_components=2, random_state=0, max_iter=8, tol=0,
                      learning_rate=0.05, **kwargs)
        single = MLEGaussianMixture(**common).fit(X, sample_weight=weight)
        mirrored = MLEGaussianMixture(strategy=strategy, **common).fit(
            X, sample_weight=weight)
        report[name] = max(
            float(np.max(np.abs(getattr(mirrored, a) - getattr(single, a))
                         / np.maximum(np.abs(getattr(single, a)), 1e-300)))
            for a in ("weights_", "means_", "covariances_"))
    for covariance_type in ("full", "tied", "diag", "spherical"):
        common = dict(n_components=2, random_state=0, max_iter=10, tol=0, batch_size=64,
                      covariance_type=covariance_type)
        single = EMGaussianMixture(**common).fit(X, sample_weight=weight)
        mirrored = EMGaussianMixture(strategy=strategy, **common).fit(
            X, sample_weight=weight)
        report[f"em_{covariance_type}"] = max(
            float(np.max(np.abs(getattr(mirrored, a) - getattr(single, a))
                         / np.maximum(np.abs(getattr(single, a)), 1e-300)))
            for a in ("weights_", "means_", "covariances_"))
    common = dict(n_components=2, random_state=0, max_iter=10, tol=0, batch_size=64)
    single = BayesianGaussianMixture(**common).fit(X, sample_weight=weight)
    mirrored = BayesianGaussianMixture(strategy=strategy, **common).fit(
        X, sample_weight=weight)
    report["bayesian_full"] = max(
        float(np.max(np.abs(np.asarray(getattr(mirrored, a)) - getattr(single, a))
                     / np.maximum(np.abs(getattr(single, a)), 1e-300)))
        for a in ("weights_", "means_", "covariances_", "mean_precision_"))
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
