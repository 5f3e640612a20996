"""Benchmark: VariationalGMMTarget (SAMTRON) on the paper's reference problems,
side by side with the reference implementation ``gmmvi`` when it is installed.

What is measured
----------------
For each problem, at each budget of target evaluations, this project's fit is
reported with

* ``-ELBO``: ``-vi.elbo(n_samples=10000)`` of the mixture reached when the
  budget was spent (for the normalised GMM target this is KL(q || p)),
* the wall time from the start of ``fit`` to that point (TensorFlow tracing
  included; the fit runs with a ``callback``, i.e. one compiled call per
  iteration, as the reference also returns to Python every iteration),
* the number of components, and the problem's own figure (modes found for the
  GMM target, goals reached by 10000 samples for the planar robot).

TensorFlow is imported before any clock starts (the reference's train time
excludes its imports and set-up too); tracing is inside the timed fit.

How: one fit runs with a callback that records target evaluations and wall time
per iteration and stops at the largest budget. As a fit is a deterministic
function of ``random_state``, the mixture at a smaller budget is obtained by a
second fit with ``max_iter`` set to the iteration at which the first one passed
that budget (its time is not counted).

The reference (``gmmvi`` 1.1 with the paper's hyperparameters) runs through
``/work/shared/tools/gmmvi_reference.py`` in its own virtual environment
(``--reference-python``; see that script's header for the installation). Its
figures at a budget are those of its first logged iteration past the budget:
``-ELBO`` over 2000 samples (the reference runner's estimate) and its
``train_iter`` time (first-call tracing included). Budgets it did not reach
within ``--reference-seconds`` are left empty. The two runs are sequential,
never concurrent.

Problems (targets from :mod:`skgmmvi.targets`; hyperparameters those of the
paper's runs, see PROBLEMS):

* ``breast_cancer``: Bayesian logistic regression, D = 31.
* ``gmm20``: the 10-mode GMM target in D = 20.
* ``gmm20_defaults``: the same target with every estimator parameter at its
  default (not run by default; the reference's figures are those of its
  ``gmm20`` experiment, with the paper's start).
* ``planar``: the planar robot with 4 goals, D = 10 (no published SAMTRON
  hyperparameters in the reference tool, whose default configuration starts
  from 300 components; ours: 40 initial components placed at prior samples,
  250 samples per component, component step 0.1; with 10 initial components
  one of the four goals was missed).

Usage
-----
::

    python benchmarks/bench_vi.py [--problems breast_cancer,gmm20,planar]
        [--reference-python /work/cache/gmmvi-ref/bin/python]
        [--reference-seconds 900] [--budgets 1000000,2000000] [--quick]
        [--repeats 3] [--dtype float64] [--target-elbo 78.26]

``--scale`` (issue 17) instead runs ``planar300`` and ``stm20`` (the
reference's default settings with 300 and 20 initial components, 100 samples
per component, re-use ratio 2) side by side with the reference over
``--scale-iterations`` iterations, each side in its own process: median time per
iteration and peak RSS (``os.wait4``), ``-ELBO`` at the last of ``--budgets`` when
given, then our peak RSS and time per iteration at the K of ``--memory-table``
(default 10,30,100,300; empty to skip). With ``--repeats R`` each side runs R
times, alternately, and the medians are printed; every table carries the load
average and the thread settings. ``--pair-mass`` fits them without re-use for
``--scale-iterations`` iterations and prints how much of each component's
importance weight rests on the samples other components drew.

``--quick`` divides every budget by 10. ``--repeats R`` runs ours and the
reference R times each, alternately, prints every run's table and then the
medians per budget (the machine is shared: quote the medians). ``--dtype`` is
our fit's precision, or a comma-separated list to time ours in each against the
same reference run (the reference computes in float32). ``--target-elbo E``
(breast cancer only; default 78.26, the issue's speed goal) adds, per run, the
first budget from which on each side's ``-ELBO`` stays at most E (so that one
lucky low estimate does not count), the wall time to it, and the ratio of those
times; the resolution is that of ``--budgets``.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this checkout

import numpy as np

REFERENCE_TOOL = Path("/work/shared/tools/gmmvi_reference.py")
DEFAULT_REFERENCE_PYTHON = Path("/work/cache/gmmvi-ref/bin/python")
if not DEFAULT_REFERENCE_PYTHON.exists():
    DEFAULT_REFERENCE_PYTHON = Path("/work/refenv/bin/python")


def breast_cancer():
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.targets import breast_cancer_posterior

    target = breast_cancer_posterior()
    estimator = VariationalGMMTarget(
        target, n_components=1, n_samples_per_component=250, component_stepsize=0.01,
        component_stepsize_range=(0.001, 1.0), weight_stepsize=0.1,
        weight_stepsize_range=(1e-5, 4.0), add_iters=25, del_iters=100,
        max_components=1000, init_scale=10.0, random_state=0)
    return target, estimator, None


def gmm20():
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.targets import GaussianMixtureTarget

    target = GaussianMixtureTarget(n_features=20, n_modes=10, random_state=0)
    rng = np.random.RandomState(0)
    estimator = VariationalGMMTarget(
        target, n_components=5, n_samples_per_component=300, component_stepsize=0.1,
        add_iters=30, del_iters=100, max_components=1000,
        init_mean=rng.normal(scale=31.63, size=(5, 20)), init_scale=31.63, random_state=0)

    def figure(vi):
        return f"modes {target.count_found_modes(vi.means_)}/10"

    return target, estimator, figure


def gmm20_defaults():
    """The 10-mode GMM target fitted as a new user would: every parameter at
    its default (one component, ``init_scale`` 10 around the origin, while the
    target's means are uniform in ``[-50, 50]^20``)."""
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.targets import GaussianMixtureTarget

    target = GaussianMixtureTarget(n_features=20, n_modes=10, random_state=0)

    def figure(vi):
        return f"modes {target.count_found_modes(vi.means_)}/10"

    return target, VariationalGMMTarget(target, random_state=0), figure


def planar():
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.targets import PlanarRobotTarget

    target = PlanarRobotTarget(n_links=10, n_goals=4)
    prior_scale = np.array([1.0] + [0.2] * 9)
    estimator = VariationalGMMTarget(
        target, n_components=40, n_samples_per_component=250, component_stepsize=0.1,
        add_iters=25, del_iters=100, max_components=1000,
        init_mean=target.prior_sample(40, random_state=0), init_scale=prior_scale / 4,
        random_state=0)

    def figure(vi):
        samples, _ = vi.sample(10000)
        return f"goals {target.count_reached_goals(samples)}/4"

    return target, estimator, figure


def planar_scale(n_components=300):
    """The reference's default planar-robot setting (its ``planar_robot_4``):
    ``n_components`` initial components at prior samples, 100 samples per
    component, re-use ratio 2, step sizes 1."""
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.targets import PlanarRobotTarget

    target = PlanarRobotTarget(n_links=10, n_goals=4)
    prior_scale = np.array([1.0] + [0.2] * 9)
    return VariationalGMMTarget(
        target, n_components=n_components, n_samples_per_component=100, ratio_reused=2.0,
        component_stepsize=1.0, component_stepsize_range=(0.001, 1.0), weight_stepsize=1.0,
        weight_stepsize_range=(1e-4, 1.0), add_iters=30, del_iters=100, max_components=1000,
        init_mean=target.prior_sample(n_components, random_state=0),
        init_scale=prior_scale / 4, random_state=0)


def student_t_scale(n_components=20):
    """The reference's ``stm20``: the Student-t mixture (10 modes, D = 20), 20
    initial components (means from N(0, 100^2 I), covariance 300 I), 100 samples
    per component, re-use ratio 2, step sizes 1."""
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.targets import StudentTMixtureTarget

    target = StudentTMixtureTarget(n_features=20, n_modes=10, random_state=0)
    rng = np.random.RandomState(0)
    return VariationalGMMTarget(
        target, n_components=n_components, n_samples_per_component=100, ratio_reused=2.0,
        component_stepsize=1.0, component_stepsize_range=(0.001, 1.0), weight_stepsize=1.0,
        weight_stepsize_range=(1e-4, 1.0), add_iters=30, del_iters=100, max_components=1000,
        init_mean=rng.normal(scale=100.0, size=(n_components, 20)),
        init_scale=np.sqrt(300.0), random_state=0)


#: Configurations of ``--scale``: name -> builder(n_components) of the estimator.
SCALE_PROBLEMS = {"planar300": planar_scale, "stm20": student_t_scale}
#: Reference experiment of each scale configuration and its initial components.
SCALE_REFERENCE = {"planar300": ("planar_robot_4", 300), "stm20": ("stm20", 20)}


PROBLEMS = {
    # name: (builder, budgets, reference experiment name)
    "breast_cancer": (breast_cancer, [500_000, 1_000_000, 2_000_000, 5_000_000],
                      "breast_cancer"),
    "gmm20": (gmm20, [500_000, 1_000_000, 1_500_000], "gmm20"),
    "gmm20_defaults": (gmm20_defaults, [20_000, 100_000, 500_000, 1_000_000], "gmm20"),
    "planar": (planar, [500_000, 1_000_000, 2_000_000], "planar_robot_4"),
}


def run_ours(builder, budgets, dtype="float64"):
    from sklearn.base import clone

    from skgmmvi._tf.compile_cache import COMPILED

    COMPILED.clear(lambda key: key[0] == "vi")  # every run traces afresh, as the reference's does
    target, estimator, figure = builder()
    estimator = estimator.set_params(dtype=dtype, tol=None)  # budgets, not the stopping rule
    records = []
    start = [None]

    def callback(info):
        records.append((info["n_target_evaluations"], time.perf_counter() - start[0],
                        info["n_components"]))
        return info["n_target_evaluations"] >= budgets[-1]

    start[0] = time.perf_counter()
    last = clone(estimator).set_params(callback=callback, max_iter=10**6).fit()
    evaluations = np.array([r[0] for r in records])
    rows = []
    for budget in budgets:
        reached = np.nonzero(evaluations >= budget)[0]
        if not len(reached):
            continue
        n_iter = int(reached[0]) + 1
        vi = last if n_iter == len(records) else clone(estimator).set_params(
            max_iter=n_iter).fit()
        rows.append({
            "budget": budget, "evaluations": int(evaluations[n_iter - 1]),
            "neg_elbo": -vi.elbo(n_samples=10000, random_state=0),
            "seconds": records[n_iter - 1][1], "components": vi.n_components_,
            "iterations": n_iter, "figure": figure(vi) if figure else ""})
    return rows


REFERENCE_ROW = re.compile(
    r"iter\s+(\d+) \| FEVALS\s+(\d+) \| ELBO\s+(\S+) \| K\s+(\d+) \| train-time\s+(\S+)s"
    r"(?:.*detected modes (\d+))?")


def run_reference(python, experiment, budgets, seconds):
    if not Path(python).exists() or not REFERENCE_TOOL.exists():
        return None
    command = [str(python), str(REFERENCE_TOOL), "--experiment", experiment,
               "--algo", "SAMTRON", "--iters", "100000", "--log-every", "10",
               "--max-seconds", str(seconds)]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    output = subprocess.run(command, capture_output=True, text=True, env=env).stdout
    logged = [m.groups() for m in map(REFERENCE_ROW.search, output.splitlines()) if m]
    rows = []
    for budget in budgets:
        past = [g for g in logged if int(g[1]) >= budget]
        if past:
            it, evals, elbo, k, train, modes = past[0]
            rows.append({"budget": budget, "evaluations": int(evals),
                         "neg_elbo": -float(elbo), "seconds": float(train),
                         "components": int(k), "iterations": int(it) + 1,
                         "figure": f"modes {modes}/10" if modes else ""})
    return rows


def print_table(name, ours, reference):
    print(f"\n{name}")
    header = (f"{'budget':>9} | {'-ELBO':>9} {'time s':>7} {'K':>4} {'iters':>5} {'':>12} |"
              f" {'ref -ELBO':>9} {'ref s':>7} {'ref K':>5} | {'time ratio':>10}")
    print(header)
    print("-" * len(header))
    by_budget = {r["budget"]: r for r in (reference or [])}
    for row in ours:
        ref = by_budget.get(row["budget"])
        ref_cells = (f" {ref['neg_elbo']:9.3f} {ref['seconds']:7.1f} {ref['components']:5d} |"
                     f" {ref['seconds'] / row['seconds']:10.2f}") if ref else \
            f" {'-':>9} {'-':>7} {'-':>5} | {'-':>10}"
        print(f"{row['budget']:9d} | {row['neg_elbo']:9.3f} {row['seconds']:7.1f} "
              f"{row['components']:4d} {row['iterations']:5d} {row['figure']:>12} |{ref_cells}")


def time_to(rows, neg_elbo):
    """``(budget, seconds)`` of the first row from which on every row has
    ``-ELBO <= neg_elbo``, or None.

    "From which on" makes one lucky low estimate (the reference's 2000-sample
    ``-ELBO`` scatters by a few hundredths) not count as reaching the target.
    """
    reached = None
    for row in rows or []:
        if row["neg_elbo"] > neg_elbo:
            reached = None
        elif reached is None:
            reached = row["budget"], row["seconds"]
    return reached


def print_medians(name, runs, target_elbo):
    """Medians over repeated runs: per budget, and of the time to ``target_elbo``."""
    header = (f"{'budget':>9} | {'-ELBO':>9} {'time s':>7} | {'ref -ELBO':>9} {'ref s':>7} |"
              f" {'time ratio':>10}")
    if len(runs) > 1:
        print(f"\n{name}: medians over {len(runs)} runs")
        print(header)
        print("-" * len(header))
    budgets = sorted({row["budget"] for ours, _ in runs for row in ours})
    for budget in budgets if len(runs) > 1 else []:
        ours = [row for o, _ in runs for row in o if row["budget"] == budget]
        refs = [row for _, r in runs for row in (r or []) if row["budget"] == budget]
        ratios = [r_row["seconds"] / o_row["seconds"] for o, r in runs
                  for o_row in o if o_row["budget"] == budget
                  for r_row in (r or []) if r_row["budget"] == budget]
        ref_cells = (f" {np.median([r['neg_elbo'] for r in refs]):9.3f}"
                     f" {np.median([r['seconds'] for r in refs]):7.1f} |"
                     f" {np.median(ratios):10.2f}") if refs else \
            f" {'-':>9} {'-':>7} | {'-':>10}"
        print(f"{budget:9d} | {np.median([r['neg_elbo'] for r in ours]):9.3f}"
              f" {np.median([r['seconds'] for r in ours]):7.1f} |{ref_cells}")
    if target_elbo is None:
        return
    print(f"\ntime to -ELBO <= {target_elbo} (first budget from which on every budget "
          "is at or below it), per run:")
    ratios = []
    for i, (ours, reference) in enumerate(runs):
        mine, theirs = time_to(ours, target_elbo), time_to(reference, target_elbo)
        cells = [f"run {i + 1}: ours " + (f"{mine[1]:.1f} s at {mine[0]}" if mine else "not reached"),
                 "reference " + (f"{theirs[1]:.1f} s at {theirs[0]}" if theirs else "not reached")]
        if mine and theirs:
            ratios.append(theirs[1] / mine[1])
            cells.append(f"ratio {ratios[-1]:.2f}")
        print("  " + ", ".join(cells))
    if ratios:
        print(f"  median ratio {np.median(ratios):.2f} over {len(ratios)} runs")


# ------------------------------------------------------------- --scale
def run_measured(command):
    """Run ``command``; return ``(stdout, peak RSS in MiB)`` of that process
    (``os.wait4``: the peak of this child alone, not of earlier ones)."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env=env)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{command[:3]} failed with exit code {process.returncode}")
    return output, usage.ru_maxrss / 1024.0


def scale_worker(problem, n_components, n_iterations, budget, seed=0):
    """(In a child process.) Fit a scale configuration with ``random_state=seed``
    for ``n_iterations`` iterations or until ``budget`` evaluations; print a JSON
    line of figures."""
    import json

    from skgmmvi._tf._runtime import tensorflow

    tensorflow()
    stamps = []

    def callback(info):
        stamps.append((time.perf_counter(), info["n_target_evaluations"]))
        return budget is not None and info["n_target_evaluations"] >= budget

    import resource

    start = time.perf_counter()
    estimator = SCALE_PROBLEMS[problem](n_components).set_params(
        callback=callback, max_iter=n_iterations, random_state=seed)
    if budget is not None:  # a budget, not the stopping rule, ends the fit
        estimator.set_params(tol=None)
    vi = estimator.fit()
    # the peak up to the end of fit, before the 10000-sample -ELBO below (whose
    # numpy densities grow with K too)
    fit_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    times = np.diff([start] + [t for t, _ in stamps])
    print(json.dumps({"per_iteration": float(np.median(times[1:])), "first": float(times[0]),
                      "fit_rss_mib": fit_rss,
                      "evaluations": int(stamps[-1][1]), "iterations": len(stamps),
                      "neg_elbo": float(-vi.elbo(n_samples=10000, random_state=0)),
                      "components": int(vi.n_components_)}))


def run_ours_scale(problem, n_components, n_iterations, budget=None):
    import json

    command = [sys.executable, __file__, "--scale-worker", problem,
               "--scale-components", str(n_components),
               "--scale-iterations", str(n_iterations)]
    if budget:
        command += ["--budgets", str(budget)]
    output, rss = run_measured(command)
    figures = json.loads(output.strip().splitlines()[-1])
    figures["rss_mib"] = rss
    return figures


def run_reference_scale(python, problem, n_iterations, seconds, log_every=1):
    """The reference on a scale problem for ``n_iterations`` iterations (or
    ``seconds``), logged every ``log_every`` iterations: per-iteration train time
    (median over the logged rows, first call excluded; with ``log_every`` 1 only),
    peak RSS and its rows ``(evaluations, -ELBO, K)``."""
    experiment, _ = SCALE_REFERENCE[problem]
    command = [str(python), str(REFERENCE_TOOL), "--experiment", experiment, "--algo",
               "SAMTRON", "--iters", str(n_iterations - 1), "--log-every", str(log_every),
               "--max-seconds", str(seconds)]
    output, rss = run_measured(command)
    logged = [m.groups() for m in map(REFERENCE_ROW.search, output.splitlines()) if m]
    train = np.array([float(g[4]) for g in logged])
    return {"per_iteration": float(np.median(np.diff(train))) if len(train) > 2 else np.nan,
            "first": float(train[0]) if len(train) else np.nan, "rss_mib": rss,
            "rows": [(int(g[1]), -float(g[2]), int(g[3])) for g in logged],
            "iterations": len(logged)}


def print_scale_side_by_side(problem, ours, reference):
    print(f"\n{problem}: {ours['iterations']} iterations each, K0 = "
          f"{SCALE_REFERENCE[problem][1]}")
    print(f"{'':>10} | {'ms/iter':>8} {'first s':>8} {'peak RSS MiB':>12}")
    for name, row in (("ours", ours), ("reference", reference)):
        print(f"{name:>10} | {1000 * row['per_iteration']:8.0f} {row['first']:8.1f}"
              f" {row['rss_mib']:12.0f}")
    print(f"{'ratio':>10} | {reference['per_iteration'] / ours['per_iteration']:8.2f}x faster"
          f"   RSS ours/reference {ours['rss_mib'] / reference['rss_mib']:.2f}")
    if "fit_rss_mib" in ours:
        print(f"{'':>10}   (ours up to the end of fit, before the 10000-sample -ELBO: "
              f"{ours['fit_rss_mib']:.0f} MiB)")


def print_scale_budget(problem, ours, reference, budget):
    """-ELBO of both at (the first logged iteration past) ``budget`` evaluations."""
    past = [row for row in reference["rows"] if row[0] >= budget]
    ref = f"{past[0][1]:9.3f} at {past[0][0]} evals, K {past[0][2]}" if past else \
        f"budget not reached in its time ({reference['rows'][-1][0]} evals)"
    print(f"\n{problem}: -ELBO at {budget} evaluations: ours {ours['neg_elbo']:.3f} at "
          f"{ours['evaluations']} evals, K {ours['components']} (10000 samples); "
          f"reference {ref} (2000 samples)")


def load_line():
    """The machine's load averages (1, 5, 15 min) and the BLAS thread settings."""
    threads = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS",
                                                        "OPENBLAS_NUM_THREADS")
                       if k in os.environ) or "default threads"
    return "load average {:.1f} {:.1f} {:.1f}, {}".format(*os.getloadavg(), threads)


def print_scale_medians(problem, runs):
    """Medians over repeated side-by-side runs of one scale problem."""
    def median(side, key):
        return float(np.median([run[side][key] for run in runs]))

    print(f"\n{problem}: medians over {len(runs)} runs")
    print(f"{'':>10} | {'ms/iter':>8} {'first s':>8} {'peak RSS MiB':>12}")
    for side in ("ours", "reference"):
        print(f"{side:>10} | {1000 * median(side, 'per_iteration'):8.0f}"
              f" {median(side, 'first'):8.1f} {median(side, 'rss_mib'):12.0f}")
    speed = np.median([r["reference"]["per_iteration"] / r["ours"]["per_iteration"]
                       for r in runs])
    memory = np.median([r["ours"]["rss_mib"] / r["reference"]["rss_mib"] for r in runs])
    print(f"{'ratio':>10} | {speed:8.2f}x faster   RSS ours/reference {memory:.2f}")


def run_memory_table(args):
    """Our peak RSS and time per iteration against K (planar, fixed samples per
    component; medians over ``--repeats``)."""
    print(f"\nmemory per iteration against K (planar, 100 samples per component, re-use 2, "
          f"{args.scale_iterations} iterations, medians of {args.repeats}; {load_line()})")
    print("peak RSS up to the end of fit (TensorFlow's own footprint included) and, for the "
          "whole process, with the 10000-sample -ELBO after it")
    print(f"{'K':>5} | {'fit RSS MiB':>12} {'MiB per added K':>15} {'process MiB':>11}"
          f" {'ms/iter':>8}")
    previous = None
    for n_components in [int(k) for k in args.memory_table.split(",")]:
        rows = [run_ours_scale("planar300", n_components, args.scale_iterations)
                for _ in range(args.repeats)]
        rss = np.median([row["fit_rss_mib"] for row in rows])
        slope = (f"{(rss - previous[1]) / (n_components - previous[0]):15.2f}"
                 if previous else f"{'-':>15}")
        print(f"{n_components:5d} | {rss:12.0f} {slope}"
              f" {np.median([row['rss_mib'] for row in rows]):11.0f} {1000 * np.median([row['per_iteration'] for row in rows]):8.0f}")
        previous = n_components, rss
        sys.stdout.flush()


def run_scale(args):
    """``--scale``: side by side with the reference at the issue-17 settings
    (``--repeats`` times, alternately, then medians), and our memory per
    iteration against K."""
    reference_python = None if args.no_reference else args.reference_python
    print(load_line())
    for problem in filter(None, args.problems.split(",")):  # --problems "": table only
        runs = []
        for _ in range(args.repeats):
            ours = run_ours_scale(problem, SCALE_REFERENCE[problem][1], args.scale_iterations)
            if not reference_python:
                print(problem, ours)
                continue
            reference = run_reference_scale(reference_python, problem, args.scale_iterations,
                                            args.reference_seconds)
            print_scale_side_by_side(problem, ours, reference)
            print(f"  ({load_line()})")
            runs.append({"ours": ours, "reference": reference})
            sys.stdout.flush()
        if len(runs) > 1:
            print_scale_medians(problem, runs)
        if args.budgets and reference_python:
            run_scale_budgets(args, reference_python, problem)
        sys.stdout.flush()
    if args.memory_table:
        run_memory_table(args)


def run_scale_budgets(args, reference_python, problem):
    """-ELBO of both sides at every one of ``--budgets``: ours fitted once per
    budget (each in its own process), the reference once to the last budget,
    logged every 10 iterations (the first logged row past each budget counts)."""
    budgets = sorted(int(b) for b in args.budgets.split(","))
    print(f"\n{problem}: -ELBO at {budgets} evaluations ({load_line()})")
    ours = {budget: run_ours_scale(problem, SCALE_REFERENCE[problem][1], 10**6, budget)
            for budget in budgets}
    reference = run_reference_scale(reference_python, problem, 10**6,
                                    args.reference_seconds, log_every=10)
    for budget in budgets:
        print_scale_budget(problem, ours[budget], reference, budget)
    print(f"  ({load_line()})")


def cross_pair_mass(vi, n_per_component=100, seed=0):
    """Per component k, the share of its self-normalised importance weight
    ``q(x|k) / q_bg(x)`` carried by the samples the *other* components drew, with
    per-component sampling and no re-use (``q_bg``: the components weighted by
    their equal sample counts). Returns the shares (K,)."""
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    rng = np.random.RandomState(seed)
    n_components = len(vi.weights_)
    x = np.concatenate([rng.multivariate_normal(m, c, n_per_component)
                        for m, c in zip(vi.means_, vi.covariances_)])
    drawn_by = np.repeat(np.arange(n_components), n_per_component)
    log_density = np.array([multivariate_normal(m, c).logpdf(x)
                            for m, c in zip(vi.means_, vi.covariances_)])  # (K, N)
    log_ratio = log_density - (logsumexp(log_density, axis=0) - np.log(n_components))
    weights = np.exp(log_ratio - logsumexp(log_ratio, axis=1, keepdims=True))
    return 1.0 - weights[np.arange(n_components)[:, None] == drawn_by[None, :]].reshape(
        n_components, n_per_component).sum(axis=1)


def run_pair_mass(args):
    """``--pair-mass``: after ``--scale-iterations`` iterations without re-use, how
    much of each component's estimate rests on other components' samples."""
    for problem in args.problems.split(","):
        vi = SCALE_PROBLEMS[problem](SCALE_REFERENCE[problem][1]).set_params(
            ratio_reused=0.0, max_iter=args.scale_iterations, tol=None).fit()
        share = cross_pair_mass(vi)
        print(f"{problem} (no re-use, {args.scale_iterations} iterations, K {len(share)}): "
              f"weight share of other components' samples: median {np.median(share):.3f}, "
              f"90th percentile {np.percentile(share, 90):.3f}, max {share.max():.3f}, "
              f"mixture-weighted mean {np.sum(vi.weights_ * share):.3f}")
        sys.stdout.flush()


def argument_parser():
    """The command line of this script."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default="breast_cancer,gmm20,planar")
    parser.add_argument("--reference-python", default=str(DEFAULT_REFERENCE_PYTHON))
    parser.add_argument("--reference-seconds", type=float, default=900.0)
    parser.add_argument("--budgets", default=None,
                        help="comma-separated evaluation budgets replacing every "
                             "problem's defaults, e.g. 1000000,2000000")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dtype", default="float64",
                        help="our precision: float64, float32 or both, e.g. float64,float32")
    parser.add_argument("--target-elbo", type=float, default=78.26,
                        help="breast cancer: report the time to this -ELBO")
    parser.add_argument("--scale", action="store_true",
                        help="issue 17: --problems among planar300,stm20 side by side with "
                             "the reference over --scale-iterations iterations (time per "
                             "iteration, peak RSS), -ELBO at the last of --budgets if "
                             "given, and the --memory-table")
    parser.add_argument("--scale-iterations", type=int, default=20)
    parser.add_argument("--pair-mass", action="store_true",
                        help="issue 17: share of each component's importance weight on "
                             "other components' samples (planar300,stm20 without re-use)")
    parser.add_argument("--memory-table", default="10,30,100,300")
    parser.add_argument("--scale-worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scale-components", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scale-seed", type=int, default=0,
                        help="random_state of our fit in --scale-worker (the reference's "
                             "runs are not seeded): run-to-run scatter at a budget")
    return parser


def main(argv=None):
    parser = argument_parser()
    args = parser.parse_args(argv)
    if args.scale_worker:
        return scale_worker(args.scale_worker, args.scale_components, args.scale_iterations,
                            int(args.budgets) if args.budgets else None, args.scale_seed)
    if args.scale or args.pair_mass:
        if args.problems == parser.get_default("problems"):
            args.problems = "planar300,stm20"
        return run_pair_mass(args) if args.pair_mass else run_scale(args)
    if not set(args.dtype.split(",")) <= {"float64", "float32"}:
        parser.error(f"--dtype takes float64 and/or float32, got {args.dtype!r}")
    from skgmmvi._tf._runtime import tensorflow

    tensorflow()  # import before any clock starts
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}, ours in {args.dtype}")
    for name in args.problems.split(","):
        builder, budgets, experiment = PROBLEMS[name]
        if args.budgets:
            budgets = [int(b) for b in args.budgets.split(",")]
        if args.quick:
            budgets = [b // 10 for b in budgets]
        dtypes = args.dtype.split(",")
        runs = {dtype: [] for dtype in dtypes}
        for repeat in range(args.repeats):
            ours = {dtype: run_ours(builder, budgets, dtype) for dtype in dtypes}
            reference = None if args.no_reference else run_reference(
                args.reference_python, experiment, budgets, args.reference_seconds)
            for dtype in dtypes:
                title = name if len(dtypes) == 1 else f"{name}, ours in {dtype}"
                if args.repeats > 1:
                    title += f", run {repeat + 1}"
                print_table(title, ours[dtype], reference)
                runs[dtype].append((ours[dtype], reference))
            sys.stdout.flush()
        target_elbo = args.target_elbo if name == "breast_cancer" else None
        if args.repeats > 1 or target_elbo is not None:
            for dtype in dtypes:
                print_medians(name if len(dtypes) == 1 else f"{name}, ours in {dtype}",
                              runs[dtype], target_elbo)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
