"""Benchmark: peak memory of EM fits in memory and streamed from disk.

What is measured
----------------
For N in 0.5M, 1M, 2M and 4M rows (D = 16, K = 16, float64, full covariance) the
script writes the rows once to a ``.npy`` file in a scratch folder, then fits
``EMGaussianMixture`` twice, each in a fresh child process:

* **in memory**: ``np.load`` the file, then ``fit(X)``;
* **streamed**: ``fit(skgmmvi.io.npy_batches(path, batch_size))``: the rows are
  read from disk by ``tf.data`` once per EM iteration and never held at once.

Both use the same ``batch_size`` (default 4096 rows per chunk, about what
``batch_size=None`` picks for D = K = 16; the per-chunk work arrays are
O(batch_size * (K + D^2)), about 10 MiB at 4096), the same
initial parameters (``means_init`` etc. from the first 10 000 rows, so no
k-means runs on the full data) and ``--iters`` EM iterations (``tol=0``).
Reported per cell: the peak resident memory of the child process above its
level just before ``fit`` (after TensorFlow's start-up and, in memory, after
loading X), the size of the data, the seconds per EM iteration, and the final
mean log-likelihood of each mode (they must agree). The goal: streamed fits use
flat memory whatever N is; in-memory fits grow only by the data itself.

Usage
-----
::

    python benchmarks/bench_memory.py [--sizes 500000 1000000 2000000 4000000]
                                      [--batch-size 4096] [--iters 3]
                                      [--scratch DIR]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_FEATURES, N_COMPONENTS = 16, 16


def write_data(path, n_samples, seed=0):
    """K random full-covariance Gaussians, written block by block to ``path``."""
    rng = np.random.RandomState(seed)
    means = 3.0 * rng.randn(N_COMPONENTS, N_FEATURES)
    scales = [np.linalg.qr(rng.randn(N_FEATURES, N_FEATURES))[0]
              * np.sqrt(rng.uniform(0.5, 2.0, N_FEATURES)) for _ in range(N_COMPONENTS)]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64,
                                    shape=(n_samples, N_FEATURES))
    block = 250_000
    for start in range(0, n_samples, block):
        stop = min(start + block, n_samples)
        labels = rng.randint(N_COMPONENTS, size=stop - start)
        z = rng.randn(stop - start, N_FEATURES)
        rows = np.empty_like(z)
        for k in range(N_COMPONENTS):
            hit = labels == k
            rows[hit] = z[hit] @ scales[k].T + means[k]
        out[start:stop] = rows
    out.flush()
    del out


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak():
    """Reset the kernel's peak-RSS counter when allowed; True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def current_rss_mib():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    return float("nan")


def child(mode, path, batch_size, iters):
    """Fit once in this process and print a JSON line of measurements."""
    sys.path.insert(0, REPO_ROOT)  # measure this checkout of skgmmvi
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from skgmmvi import EMGaussianMixture
    from skgmmvi.io import npy_batches

    warnings.simplefilter("ignore", ConvergenceWarning)
    head = np.load(path, mmap_mode="r")[:10_000]
    start = EMGaussianMixture(N_COMPONENTS, random_state=0, max_iter=0).fit(head)
    inits = dict(weights_init=start.weights_, means_init=start.means_,
                 precisions_init=start.precisions_)
    model = EMGaussianMixture(N_COMPONENTS, max_iter=iters, tol=0, batch_size=batch_size,
                              **inits)
    # Warm-up on a small piece, so that tracing is not part of the measurement.
    warm = EMGaussianMixture(N_COMPONENTS, max_iter=1, tol=0, batch_size=batch_size, **inits)
    if mode == "memory":
        warm.fit(np.array(head))
        X = np.load(path)
        source = X
    else:
        warm_path = path + ".head.npy"
        np.save(warm_path, np.array(head))
        warm.fit(npy_batches(warm_path, batch_size))
        source = npy_batches(path, batch_size)
    resettable = reset_peak()
    before = current_rss_mib()
    clock = time.perf_counter()
    model.fit(source)
    seconds = time.perf_counter() - clock
    score = model.lower_bound_
    print(json.dumps({"peak_increase_mib": peak_rss_mib() - before, "before_mib": before,
                      "seconds_per_iter": seconds / iters, "lower_bound": float(score),
                      "peak_reset": resettable}))


def run_child(mode, path, batch_size, iters):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", mode,
                          path, str(batch_size), str(iters)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[500_000, 1_000_000, 2_000_000, 4_000_000])
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--scratch", default=None,
                        help="folder for the data files (default: a temporary one)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, path, batch_size, iters = args.child
        child(mode, path, int(batch_size), int(iters))
        return

    scratch = args.scratch or tempfile.mkdtemp(prefix="skgmmvi-bench-memory-")
    print(f"EMGaussianMixture, D={N_FEATURES}, K={N_COMPONENTS}, full, float64, "
          f"batch_size={args.batch_size}, {args.iters} EM iterations; peak RSS increase "
          "during fit (child process per cell)")
    header = (f"{'N':>10} {'data MiB':>9} {'in-memory +MiB':>15} {'streamed +MiB':>14} "
              f"{'in-mem s/iter':>14} {'stream s/iter':>14} {'lower bound diff':>17}")
    print(header)
    print("-" * len(header))
    for n_samples in args.sizes:
        path = os.path.join(scratch, f"rows_{n_samples}.npy")
        if not os.path.exists(path):
            write_data(path, n_samples)
        memory = run_child("memory", path, args.batch_size, args.iters)
        stream = run_child("stream", path, args.batch_size, args.iters)
        data_mib = n_samples * N_FEATURES * 8 / 2**20
        diff = abs(memory["lower_bound"] - stream["lower_bound"]) / abs(
            memory["lower_bound"])
        print(f"{n_samples:>10,} {data_mib:9.1f} {memory['peak_increase_mib']:15.1f} "
              f"{stream['peak_increase_mib']:14.1f} {memory['seconds_per_iter']:14.3f} "
              f"{stream['seconds_per_iter']:14.3f} {diff:17.1e}", flush=True)
        if not (memory["peak_reset"] and stream["peak_reset"]):
            print("  (note: the peak-RSS counter could not be reset; figures are "
                  "upper bounds)")
    if args.scratch is None:
        for name in os.listdir(scratch):
            os.remove(os.path.join(scratch, name))
        os.rmdir(scratch)


if __name__ == "__main__":
    main()
