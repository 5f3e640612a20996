"""Benchmark: latency of skgmmvi against scikit-learn where a drop-in is used most.

What is measured (issue 13's goals)
-----------------------------------
Every cell runs in a fresh child process (``python -c``), both libraries in the
same run, each cell ``--repeats`` times (default 5) and the median reported, once
with a single BLAS/OpenMP thread (``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=
MKL_NUM_THREADS=1``) and once with the default thread count:

* **first fit**: wall time of a whole fresh process that imports the library,
  makes the data (seeded blobs) and fits ``GaussianMixture(K)`` /
  ``EMGaussianMixture(K)`` with defaults, on 1000 x 2 (K=3) and 10 000 x 10 (K=5);
* **warm fit**: in one process, after an untimed fit of the same shape, the
  median of the timed fits (fixed 10 iterations, ``tol=0``, the same initial
  parameters for both libraries, 'full' covariances) at several sizes up to
  N=100 000, D=16, K=16; skgmmvi with ``backend="auto"``, ``"numpy"`` and
  ``"tensorflow"``, and which backend "auto" picked;
* **predict(10 rows)**: median over 200 calls of ``predict`` on 10 rows of a
  fitted 1000 x 2, K=3 model (the median of the per-process medians);
* **GridSearchCV**: ``GridSearchCV(est, {"n_components": range(1, 7)}, cv=5,
  n_jobs=2)`` on 2000 x 2, the whole fresh process (worker start-up included);
* **peak RSS**: ``ru_maxrss`` of a fresh process after a 1000 x 2, K=3 fit.

The ratio column is skgmmvi / scikit-learn (below 1: skgmmvi is faster or
smaller). The machine's load (``uptime``) is printed before and after: on a
shared machine, wall times move with it.

Usage
-----
::

    python benchmarks/bench_latency.py [--repeats 5] [--threads single,default]
                                       [--only first,warm,predict,grid,rss]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                 "MKL_NUM_THREADS": "1"}

DATA = """
import numpy as np
def blobs(n, d, k, seed=0):
    rng = np.random.RandomState(seed)
    centres = 4.0 * rng.randn(k, d)
    return centres[rng.randint(k, size=n)] + rng.randn(n, d)
"""

IMPORT = {
    "sklearn": "from sklearn.mixture import GaussianMixture as Est\n",
    "skgmmvi": "from skgmmvi import EMGaussianMixture as Est\n",
}

FIRST_FIT = DATA + "{import_}X = blobs({n}, {d}, {k})\nEst({k}, random_state=0).fit(X)\n"

WARM_FIT = DATA + """
import json, time, warnings
{import_}
warnings.simplefilter("ignore")
X = blobs({n}, {d}, {k})
rng = np.random.RandomState(1)
init = dict(weights_init=np.full({k}, 1.0 / {k}),
            means_init=X[rng.choice({n}, {k}, replace=False)],
            precisions_init=np.stack([np.linalg.inv(np.cov(X.T))] * {k}))
extra = {extra}
make = lambda: Est({k}, max_iter=10, tol=0, **init, **extra)
make().fit(X)
times = []
for _ in range({n_timed}):
    start = time.perf_counter()
    make().fit(X)
    times.append(time.perf_counter() - start)
picked = make()._fit_backend({n}, {d}, False) if hasattr(make(), "_fit_backend") else ""
print(json.dumps(dict(median=float(np.median(times)), picked=picked)))
"""

PREDICT = DATA + """
import json, time
{import_}
X = blobs(1000, 2, 3)
model = Est(3, random_state=0).fit(X)
rows = X[:10]
model.predict(rows)
times = []
for _ in range(200):
    start = time.perf_counter()
    model.predict(rows)
    times.append(time.perf_counter() - start)
print(json.dumps(dict(median=float(np.median(times)))))
"""

GRID = DATA + """
import warnings
from sklearn.model_selection import GridSearchCV
{import_}
warnings.simplefilter("ignore")
X = blobs(2000, 2, 3)
GridSearchCV(Est(), {{"n_components": range(1, 7)}}, cv=5, n_jobs=2).fit(X)
"""

RSS = DATA + """
import json, resource
{import_}
Est(3, random_state=0).fit(blobs(1000, 2, 3))
print(json.dumps(dict(median=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def run_child(code, env):
    """Wall time of a fresh process running ``code`` and the JSON it printed (if any)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"child failed:\n{code}\n{done.stderr[-2000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return wall, (json.loads(lines[-1]) if lines else {})


def median_of_processes(template, lib, env, repeats, use_wall, **fields):
    """Median over ``repeats`` fresh processes of their wall time or reported median."""
    values, info = [], {}
    for _ in range(repeats):
        wall, info = run_child(template.format(import_=IMPORT[lib], **fields), env)
        values.append(wall if use_wall else info["median"])
    return statistics.median(values), info


def row(table, label, reference, ours, unit, note=""):
    ratio = ours / reference if reference else float("nan")
    table.append((label, reference, ours, ratio, unit, note))
    print(f"  {label:<44} sklearn {reference:10.4g} {unit:<3} skgmmvi {ours:10.4g} {unit:<3}"
          f" ratio {ratio:6.2f}  {note}", flush=True)


def first_fits(table, env, repeats):
    for n, d, k in [(1000, 2, 3), (10_000, 10, 5)]:
        ref, _ = median_of_processes(FIRST_FIT, "sklearn", env, repeats, True, n=n, d=d, k=k)
        ours, _ = median_of_processes(FIRST_FIT, "skgmmvi", env, repeats, True, n=n, d=d,
                                      k=k)
        row(table, f"first fit, fresh process, {n} x {d}, K={k}", ref, ours, "s")


def warm_fits(table, env, repeats):
    for n, d, k in [(1000, 2, 3), (10_000, 10, 5), (30_000, 16, 8), (100_000, 16, 16)]:
        fields = dict(n=n, d=d, k=k, n_timed=repeats)
        ref, _ = median_of_processes(WARM_FIT, "sklearn", env, 1, False, extra="{}",
                                     **fields)
        times = {}
        for backend in ("auto", "numpy", "tensorflow"):
            times[backend], info = median_of_processes(
                WARM_FIT, "skgmmvi", env, 1, False, extra=f"dict(backend={backend!r})",
                **fields)
            if backend == "auto":
                picked = info["picked"]
        faster = min(("numpy", "tensorflow"), key=times.get)
        verdict = "the faster" if picked == faster else "NOT the faster"
        note = (f"auto picked {picked} ({verdict};"
                f" numpy {times['numpy']:.3g} s, tensorflow {times['tensorflow']:.3g} s)")
        row(table, f"warm fit, 10 iterations, {n} x {d}, K={k} full", ref, times["auto"],
            "s", note)


def predict_latency(table, env, repeats):
    ref, _ = median_of_processes(PREDICT, "sklearn", env, repeats, False)
    ours, _ = median_of_processes(PREDICT, "skgmmvi", env, repeats, False)
    row(table, "predict on 10 rows (fitted 1000 x 2, K=3)", ref * 1e3, ours * 1e3, "ms")


def grid_search(table, env, repeats):
    ref, _ = median_of_processes(GRID, "sklearn", env, repeats, True)
    ours, _ = median_of_processes(GRID, "skgmmvi", env, repeats, True)
    row(table, "GridSearchCV K=1..6, cv=5, n_jobs=2, 2000 x 2", ref, ours, "s")


def peak_rss(table, env, repeats):
    ref, _ = median_of_processes(RSS, "sklearn", env, repeats, False)
    ours, _ = median_of_processes(RSS, "skgmmvi", env, repeats, False)
    row(table, "peak RSS of a small fit (1000 x 2, K=3)", ref, ours, "MiB")


PARTS = {"first": first_fits, "warm": warm_fits, "predict": predict_latency,
         "grid": grid_search, "rss": peak_rss}


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load: " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", default="single,default")
    parser.add_argument("--only", default=",".join(PARTS))
    args = parser.parse_args()
    env_base = dict(os.environ, PYTHONPATH=ROOT + os.pathsep
                    + os.environ.get("PYTHONPATH", ""))
    print(f"cores: {os.cpu_count()}; before: {uptime()}", flush=True)
    for threads in args.threads.split(","):
        env = dict(env_base, **SINGLE_THREAD) if threads == "single" else env_base
        print(f"\n== threads: {threads} (medians of {args.repeats}) ==", flush=True)
        table = []
        for part in args.only.split(","):
            PARTS[part](table, env, args.repeats)
        print(f"  load after this block: {uptime()}", flush=True)


if __name__ == "__main__":
    main()
