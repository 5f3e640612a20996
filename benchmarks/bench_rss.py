"""Benchmark: resident memory over many VI fits of varying shape (issue 15, items 12, 13).

What is measured
----------------
In a fresh child process per mode, ``VariationalGMMTarget`` is fitted ``--fits``
times to a bundled :class:`~skgmmvi.targets.GaussianMixtureTarget` whose
dimension D (2..6), number of modes and seed change from fit to fit, with
``n_components`` (1..4) changing too. The resident set size (RSS, from
``/proc/self/status``) and the seconds per fit are printed after the first fit
(everything traced once) and then every ``--every`` fits. Goal: flat, at most
+20 MiB from the first to the last fit.

Modes:

* ``hook``: the bundled target, which passes its arrays through
  ``graph_parameters`` / ``log_density_with``, so one compiled graph serves every
  instance;
* ``no-hook`` (the reference): the same density written as a plain
  ``log_density`` with the arrays baked in as constants, as a user target
  without the hook is; every new instance traces again. It runs
  ``--reference-fits`` fits (each one traces, so it is slow).

Usage
-----
::

    python benchmarks/bench_rss.py [--fits 200] [--every 25] [--reference-fits 10]
                                   [--max-iter 5]
"""

import argparse
import json
import os
import subprocess
import sys
import time

from bench_memory import current_rss_mib  # benchmarks/ is the script's folder

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shape_of(i):
    """(D, n_modes, n_components, seed) of fit ``i``: every combination cycles."""
    return 2 + i % 5, 1 + (i // 5) % 3, 1 + (i // 3) % 4, i


def make_target(mode, n_features, n_modes, seed):
    from skgmmvi.targets import GaussianMixtureTarget, Target

    bundled = GaussianMixtureTarget(n_features, n_modes, random_state=seed)
    if mode == "hook":
        return bundled

    class PlainMixture(Target):
        """The same density without the one-trace hook."""

        def __init__(self, source):
            self.source = source
            self.n_features = source.n_features

        def log_density(self, x):
            return type(self.source).log_density_with(x, *self.source.graph_parameters())

    return PlainMixture(bundled)


def child(mode, n_fits, every, max_iter):
    """Run the fits of one mode; print one JSON line per report."""
    sys.path.insert(0, REPO_ROOT)
    import warnings

    from skgmmvi import VariationalGMMTarget

    warnings.simplefilter("ignore")  # small fits far from converged may warn
    start = time.perf_counter()
    for i in range(n_fits):
        n_features, n_modes, n_components, seed = shape_of(i)
        target = make_target(mode, n_features, n_modes, seed)
        tic = time.perf_counter()
        VariationalGMMTarget(target, n_components=n_components, max_iter=max_iter,
                             n_samples_per_component=50, random_state=seed).fit()
        seconds = time.perf_counter() - tic
        if i == 0 or (i + 1) % every == 0 or i == n_fits - 1:
            print(json.dumps({"fit": i + 1, "rss": current_rss_mib(), "seconds": seconds,
                              "elapsed": time.perf_counter() - start}), flush=True)


def run_mode(mode, n_fits, every, max_iter):
    command = [sys.executable, os.path.abspath(__file__), "--child", mode, "--fits",
               str(n_fits), "--every", str(every), "--max-iter", str(max_iter)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=200)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--reference-fits", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=5)
    parser.add_argument("--child", choices=["hook", "no-hook"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.fits, args.every, args.max_iter)
        return
    print(f"load (uptime): {os.getloadavg()}")
    print(f"{'mode':8s} {'fit':>5s} {'RSS MiB':>9s} {'+MiB':>7s} {'s/fit':>7s} "
          f"{'elapsed s':>10s}")
    summary = {}
    for mode, n_fits, every in (("hook", args.fits, args.every),
                                ("no-hook", args.reference_fits, 1)):
        rows = run_mode(mode, n_fits, every, args.max_iter)
        for row in rows:
            print(f"{mode:8s} {row['fit']:5d} {row['rss']:9.1f} "
                  f"{row['rss'] - rows[0]['rss']:7.1f} {row['seconds']:7.2f} "
                  f"{row['elapsed']:10.1f}")
        growth = rows[-1]["rss"] - rows[0]["rss"]
        summary[mode] = (growth, growth / max(rows[-1]["fit"] - 1, 1))
    print(f"load (uptime): {os.getloadavg()}")
    for mode, (growth, per_fit) in summary.items():
        print(f"{mode}: RSS first -> last fit {growth:+.1f} MiB ({per_fit:+.2f} MiB per fit)")
    hook, reference = summary["hook"][1], summary["no-hook"][1]
    if hook > 0:
        print(f"growth per fit, no-hook / hook: {reference / hook:.1f}")


if __name__ == "__main__":
    main()
