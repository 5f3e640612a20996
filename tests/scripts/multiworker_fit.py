"""One worker of a two-process MultiWorkerMirroredStrategy fit; prints JSON.

Usage: ``multiworker_fit.py INDEX PORT0 PORT1``. Run twice (INDEX 0 and 1) by
tests/test_distributed.py; each worker fits the same data with the strategy and
on its own, and reports the largest relative difference.
"""

import json
import os
import sys
import warnings

import numpy as np


def main(index, ports):
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
        "task": {"type": "worker", "index": index},
    })
    from skgmmvi._tf._runtime import tensorflow

    tf = tensorflow()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()

    from sklearn.exceptions import ConvergenceWarning

    from skgmmvi import EMGaussianMixture, MLEGaussianMixture

    warnings.simplefilter("ignore", ConvergenceWarning)
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(300, 3) + 3, rng.randn(301, 3) @ np.diag([1, 2, .5]) - 2])
    report = {"n_replicas": int(strategy.num_replicas_in_sync), "worker": index}
    for name, kwargs in {
        "mle_full_batch": dict(batch_size=None),
        "mle_full_batch_sgd": dict(batch_size=None, optimizer="sgd"),
    }.items():
        common = dict(n_components=2, random_state=0, max_iter=5, tol=0,
                      learning_rate=0.05, **kwargs)
        single = MLEGaussianMixture(**common).fit(X)
        distributed = MLEGaussianMixture(strategy=strategy, **common).fit(X)
        report[name] = max(
            float(np.max(np.abs(getattr(distributed, a) - getattr(single, a))
                         / np.maximum(np.abs(getattr(single, a)), 1e-300)))
            for a in ("weights_", "means_", "covariances_"))
    common = dict(n_components=2, random_state=0, max_iter=10, tol=0, batch_size=64)
    single = EMGaussianMixture(**common).fit(X)
    distributed = EMGaussianMixture(strategy=strategy, **common).fit(X)
    report["em_full"] = max(
        float(np.max(np.abs(getattr(distributed, a) - getattr(single, a))
                     / np.maximum(np.abs(getattr(single, a)), 1e-300)))
        for a in ("weights_", "means_", "covariances_"))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(p) for p in sys.argv[2:4]])
