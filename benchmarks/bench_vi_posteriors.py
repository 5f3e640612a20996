"""Benchmark: VariationalGMMTarget with its defaults on posteriors with known answers.

What is measured
----------------
Each problem is fitted with ``VariationalGMMTarget(target, random_state=0)``
and nothing else (``init_mean`` only where a target works in any dimension),
once with today's defaults (``max_iter=2000``, stopping rule ``tol=0.005``,
``n_iter_no_change=50``) and, with ``--old``, once with the defaults before the
stopping rule (``max_iter=200``, ``tol=None``) side by side. Per fit:

* target evaluations (``n_target_evaluations_``), wall and CPU time of ``fit``
  (TensorFlow tracing included; the post-fit k-hat check included; CPU time
  is the process's, all threads: on a loaded machine it is the fairer figure);
* iterations and ``converged_``;
* the ELBO and the Pareto k-hat (``diagnose(10000)``);
* the largest error of the mixture's means in posterior standard deviations,
  ``max_d |E_q[x_d] - E_p[x_d]| / sd_p(x_d)``, where the posterior moments are
  known exactly;
* the error of the PSIS log evidence where ``log Z`` is known.

Problems: the seed problem (``MixtureModelPosterior()``; exact ``log Z`` by
enumeration; its means are label-symmetric and not compared), Neal's funnel
(D = 10), centred and non-centred eight schools (exact moments by quadrature),
a stiff shifted Gaussian (D = 100, condition number 1e4, mean 50 from the origin), a Gaussian
1e4 away from the start (D = 5), the Inference Gym's stochastic-volatility
posterior (``StochasticVolatilityPosterior()``, D = 103; against the Gym's
published NUTS moments of ``(phi, mu, sigma, h)``, so the mixture's means of
these are estimated from 20000 of its samples mapped by ``constrain``: Monte
Carlo error about 0.01 posterior sd), and the paper's problems of bench_vi.py
(breast cancer D = 31, GMM20, planar robot) with the estimator's defaults
(not bench_vi's tuned settings), and a costly target: the posterior of a GP
regression's three log hyperparameters (each evaluation factorises a 40 x 40
covariance; moments and ``log Z`` from an 81^3 grid). With ``--reuse`` every
problem is also fitted with sample re-use (``ratio_reused=1``), and with
re-use and ``n_samples_per_component=100``.

Then the cost of one iteration at D = 10, 30, 100, 300 (GaussianTarget and
StudentTMixtureTarget with 10 modes, the defaults with ``tol=None``): the
median time between iterations 11 and 40 of one fit with a callback (one
compiled call per iteration, so host round trips are included).
And where that time goes at D = 100: the target evaluation alone (the same
number of samples through the compiled target), the rest of the compiled
iteration, and the Python host (cProfile: time outside the compiled call).

With ``--replay N`` it instead fits each problem with ``tol=None`` for ``N``
iterations (seeds ``--seeds``) and replays stopping rules on the ELBO history
(cheap: the rule only reads ``elbo_history_``): the iteration at which the
rule before (medians of two fixed 50-windows, ``tol=0.01`` per window) and
today's rule (:func:`skgmmvi.vi.elbo_stalled`) with several ``tol`` would stop,
and the smoothed gain per 50 iterations with its Monte-Carlo standard error
along the run.

Usage
-----
::

    python benchmarks/bench_vi_posteriors.py [--problems seed,funnel,...] [--old]
        [--reuse] [--no-cost] [--replay 2000 --seeds 0,1,2]

The exact answers come from ``tests/exact_answers.py``.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

from skgmmvi.targets import Target  # noqa: E402  (does not import TensorFlow)

OLD_DEFAULTS = {"max_iter": 200, "tol": None}
#: ``--reuse``: the defaults with sample re-use, for targets whose evaluations
#: are costly (doc/vi.rst, "When each evaluation of the target is costly").
REUSE_SETTINGS = [("reuse", {"ratio_reused": 1.0}),
                  ("reuse100", {"ratio_reused": 1.0, "n_samples_per_component": 100})]


def _mixture_moments(vi):
    mean = vi.weights_ @ vi.means_
    second = vi.weights_ @ (np.diagonal(vi.covariances_, axis1=1, axis2=2) + vi.means_ ** 2)
    return mean, np.sqrt(np.maximum(second - mean ** 2, 0.0))


def problems():
    """name -> builder of (target, exact means or None, exact sds or None, log Z or None),
    optionally followed by a map of samples to the variables the means are of."""
    from exact_answers import (far_gaussian, funnel_moments, mixture_posterior_exact,
                               stiff_shifted_gaussian)
    from skgmmvi.targets import (EightSchoolsCentered, EightSchoolsNonCentered, FunnelTarget,
                                 GaussianMixtureTarget, MixtureModelPosterior, PlanarRobotTarget,
                                 StochasticVolatilityPosterior, breast_cancer_posterior)

    def seed():
        target = MixtureModelPosterior()
        return target, None, None, mixture_posterior_exact(target)[0]

    def funnel():
        return (FunnelTarget(10),) + funnel_moments(10) + (0.0,)

    def eight_schools(parameterisation=EightSchoolsCentered):
        target = parameterisation()
        return (target,) + target.posterior_moments()

    def stiff():
        target, mean, covariance = stiff_shifted_gaussian()
        return target, mean, np.sqrt(np.diag(covariance)), 0.0

    def far():
        target, mean, covariance = far_gaussian()
        return target, mean, np.sqrt(np.diag(covariance)), 0.0

    def gmm20():
        target = GaussianMixtureTarget(n_features=20, n_modes=10, random_state=0)
        mean = target.weights @ target.means
        second = target.weights @ (np.diagonal(target.covariances, axis1=1, axis2=2)
                                   + target.means ** 2)
        return target, mean, np.sqrt(second - mean ** 2), 0.0

    def stochvol():
        target = StochasticVolatilityPosterior()
        return (target,) + target.published_moments() + (None, target.constrain)

    def gp():
        target = GaussianProcessHyperparameters()
        return (target,) + target.grid_moments()

    return {"seed": seed, "funnel": funnel, "eight_schools": eight_schools,
            "eight_schools_nc": lambda: eight_schools(EightSchoolsNonCentered),
            "stiff": stiff, "far": far, "stochvol": stochvol,
            "breast_cancer": lambda: (breast_cancer_posterior(), None, None, None),
            "gmm20": gmm20, "gp": gp,
            "planar": lambda: (PlanarRobotTarget(n_links=10, n_goals=4), None, None, None)}


class GaussianProcessHyperparameters(Target):
    """The posterior of a GP regression's three log hyperparameters, a costly target.

    ``(log lengthscale, log signal sd, log noise sd)`` of a squared-exponential
    GP on 40 noisy points of ``sin(x)`` (``x`` uniform on [0, 10], noise sd 0.3,
    numpy seed 1), each with a standard normal prior. Every evaluation
    factorises a 40 x 40 covariance. The moments and ``log Z`` come from an 81^3
    grid over the box that holds the mass (the box's faces carry below 1e-7 of it).
    """

    n_features = 3
    box = ((-1.5, 2.5), (-2.5, 3.0), (-2.5, -0.3))

    def __init__(self, n_points=40):
        rng = np.random.default_rng(1)
        self.x = np.sort(rng.uniform(0, 10, n_points))
        self.y = np.sin(self.x) + 0.3 * rng.standard_normal(n_points)

    def log_density(self, theta):
        import tensorflow as tf

        n = self.x.size
        ell, sf, sn = (tf.exp(theta[:, i])[:, None, None] for i in range(3))
        x = tf.constant(self.x, theta.dtype)
        distance2 = ((x[:, None] - x[None, :]) ** 2)[None]
        covariance = (sf ** 2 * tf.exp(-0.5 * distance2 / ell ** 2)
                      + (sn ** 2 + 1e-8) * tf.eye(n, dtype=theta.dtype)[None])
        chol = tf.linalg.cholesky(covariance)
        y = tf.broadcast_to(tf.constant(self.y, theta.dtype)[None, :, None],
                            tf.stack([tf.shape(theta)[0], n, 1]))
        white = tf.linalg.triangular_solve(chol, y)
        log_likelihood = (-0.5 * tf.reduce_sum(white ** 2, axis=[1, 2])
                          - tf.reduce_sum(tf.math.log(tf.linalg.diag_part(chol)), axis=1)
                          - 0.5 * n * np.log(2 * np.pi))
        return log_likelihood - 0.5 * tf.reduce_sum(theta ** 2, axis=1)

    def grid_moments(self, n_grid=81):
        """``(means, sds, log Z)`` by the rectangle rule on an ``n_grid^3`` grid."""
        import tensorflow as tf

        axes = [np.linspace(low, high, n_grid) for low, high in self.box]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        log_p = np.concatenate([self.log_density(tf.constant(grid[i:i + 4000])).numpy()
                                for i in range(0, len(grid), 4000)])
        cell = np.prod([a[1] - a[0] for a in axes])
        top = log_p.max()
        weights = np.exp(log_p - top)
        log_z = float(np.log(weights.sum() * cell) + top)
        weights /= weights.sum()
        means = weights @ grid
        return means, np.sqrt(weights @ grid ** 2 - means ** 2), log_z


def run_problem(builder, overrides):
    from skgmmvi import VariationalGMMTarget

    target, means, sds, log_z, *to_variables = builder()
    start, cpu_start = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vi = VariationalGMMTarget(target, random_state=0, **overrides).fit()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    result = vi.diagnose(10000, random_state=1)
    row = {"evaluations": vi.n_target_evaluations_, "seconds": seconds, "cpu": cpu_seconds,
           "iterations": vi.n_iter_, "converged": vi.converged_, "elbo": result.elbo,
           "khat": result.pareto_k, "K": vi.n_components_, "mean_error": None,
           "log_z_error": None,
           "warnings": sorted({w.category.__name__ for w in caught})}
    if means is not None and to_variables:
        mean = to_variables[0](vi.sample(20000)[0]).mean(axis=0)
        row["mean_error"] = float(np.max(np.abs(mean - means) / sds))
    elif means is not None:
        mean, _ = _mixture_moments(vi)
        row["mean_error"] = float(np.max(np.abs(mean - means) / sds))
    if log_z is not None:
        row["log_z_error"] = result.log_evidence - log_z
    return row


def _fmt(value, spec):
    """``value`` formatted by ``spec``, or a dash of the same width when None."""
    return format("-", ">" + spec.split(".")[0]) if value is None else format(value, spec)


def print_rows(rows):
    print(f"{'problem':14s} {'setting':8s} | {'evals':>9s} {'time s':>7s} {'cpu s':>7s} "
          f"{'iters':>5s} "
          f"{'conv':>5s} {'K':>3s} | {'ELBO':>10s} {'k-hat':>6s} | {'mean err':>8s} "
          f"{'logZ err':>8s}  warnings")
    for name, setting, row in rows:
        print(f"{name:14s} {setting:8s} | {row['evaluations']:9d} {row['seconds']:7.1f} "
              f"{row['cpu']:7.1f} "
              f"{row['iterations']:5d} {str(row['converged']):>5s} {row['K']:3d} | "
              f"{row['elbo']:10.3f} {row['khat']:6.2f} | {_fmt(row['mean_error'], '8.2f')} "
              f"{_fmt(row['log_z_error'], '8.3f')}  {','.join(row['warnings'])}",
              flush=True)


def print_ratios(rows):
    """Each non-default setting's evaluations, wall and CPU time as a ratio to the
    default fit of the same problem (from the same run)."""
    defaults = {name: row for name, setting, row in rows if setting == "default"}
    others = [(name, setting, row) for name, setting, row in rows
              if setting != "default" and name in defaults]
    if not others:
        return
    print("\ndefault / setting (times fewer evaluations, times less wall and CPU time)")
    for name, setting, row in others:
        base = defaults[name]
        print(f"{name:14s} {setting:8s} | evals {base['evaluations'] / row['evaluations']:6.1f}x"
              f"  time {base['seconds'] / row['seconds']:6.2f}x"
              f"  cpu {base['cpu'] / row['cpu']:6.2f}x", flush=True)


def rule_before_stalled(history, window=50, tol=0.01):
    """The stopping rule before this one, for the replay: the median of the last
    ``window`` estimates gained less than ``tol`` on the median of the ``window`` before."""
    if len(history) < 2 * window:
        return False
    return np.median(history[-window:]) - np.median(history[-2 * window:-window]) < tol


def replay_stop(history, stalled, check_every=10, first=10):
    """Iterations after which ``stalled(history[:n])`` (checked every 10) first holds."""
    return next((n for n in range(first, len(history) + 1, check_every)
                 if stalled(history[:n])), None)


def print_replay(names, n_iterations, seeds, tols=(0.01, 0.005, 0.002)):
    """Fit each problem with ``tol=None`` and replay the stopping rules on its history."""
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.vi import elbo_stalled, median_gain_se

    builders = problems()
    print(f"replay: iteration at which each rule stops (None: not within {n_iterations})")
    print(f"{'problem':14s} {'seed':>4s} {'before':>7s} " +
          " ".join(f"{'tol=' + str(t):>9s}" for t in tols) + "   gain/50 (se/50) at 500, 1000, ...")
    for name in names:
        target = builders[name]()[0]
        for seed in seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                history = VariationalGMMTarget(target, random_state=seed, tol=None,
                                               max_iter=n_iterations).fit().elbo_history_
            stops = [replay_stop(history, rule_before_stalled)] + [
                replay_stop(history, lambda h, t=t: elbo_stalled(h, 50, t)) for t in tols]
            trace = []
            for n in range(500, len(history) + 1, 500):
                span = max(50, n // 4)
                gain = np.median(history[n - span:n]) - np.median(history[n - 2 * span:n - span])
                se = median_gain_se(history[:n], span)
                trace.append(f"{gain * 50 / span:.4f} ({se * 50 / span:.4f})")
            print(f"{name:14s} {seed:4d} " + " ".join(f"{str(s):>9s}" for s in stops[:1]) + " "
                  + " ".join(f"{str(s):>9s}" for s in stops[1:]) + "   " + ", ".join(trace),
                  flush=True)


def iteration_seconds(target, n_features, n_iterations=40, skip=10):
    """Median seconds per iteration of one fit (a callback stamps each iteration;
    the first ``skip`` iterations, tracing included, are left out). The median
    is robust to the load spikes of a shared machine."""
    from skgmmvi import VariationalGMMTarget

    stamps = []

    def stamp(info):
        stamps.append(time.perf_counter())

    estimator = VariationalGMMTarget(target, max_iter=n_iterations, tol=None,
                                     random_state=0, init_mean=np.zeros(n_features),
                                     init_scale=1.0, callback=stamp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit()
    return float(np.median(np.diff(stamps[skip:]))), estimator


def print_cost(dimensions):
    from skgmmvi.targets import GaussianTarget, StudentTMixtureTarget

    print("\nper-iteration cost (defaults, tol=None; median over iterations 11-40 of one "
          "fit, one compiled call per iteration)")
    print(f"{'D':>4s} | {'Gaussian ms':>11s} {'K':>3s} | {'StudentT10 ms':>13s} {'K':>3s}")
    for d in dimensions:
        gaussian = GaussianTarget(np.zeros(d), np.eye(d))
        student = StudentTMixtureTarget(n_features=d, n_modes=10, random_state=0)
        g, g_vi = iteration_seconds(gaussian, d)
        s, s_vi = iteration_seconds(student, d)
        print(f"{d:4d} | {1e3 * g:11.1f} {g_vi.n_components_:3d} | {1e3 * s:13.1f} "
              f"{s_vi.n_components_:3d}", flush=True)


def print_time_split(n_features=100):
    """Where one iteration's time goes at D = n_features (StudentT target)."""
    from skgmmvi import VariationalGMMTarget
    from skgmmvi._tf.vi.compile import TargetEvaluator
    from skgmmvi.targets import StudentTMixtureTarget

    target = StudentTMixtureTarget(n_features=n_features, n_modes=10, random_state=0)
    per_iteration, vi = iteration_seconds(target, n_features)
    n_samples = 250 * vi.n_components_
    x = np.random.default_rng(0).normal(size=(n_samples, n_features))
    evaluate = TargetEvaluator(target, "float64")
    evaluate(x)
    start = time.perf_counter()
    for _ in range(20):
        evaluate(x)
    target_seconds = (time.perf_counter() - start) / 20
    profile = cProfile.Profile()
    estimator = VariationalGMMTarget(target, max_iter=40, tol=None, random_state=0,
                                     init_mean=np.zeros(n_features), init_scale=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile.runcall(estimator.fit)
    stats = pstats.Stats(profile)
    total = stats.total_tt
    # cumulative time of the host loop's compiled chunks (the TF call and the
    # records' conversion to numpy); the rest is tracing, set-up and the
    # post-fit check
    compiled = sum(v[3] for k, v in stats.stats.items() if k[2] == "_run_tf")
    print(f"\nwhere the time goes at D = {n_features} (StudentTMixtureTarget, "
          f"{vi.n_components_} components, {n_samples} samples per iteration):")
    print(f"  one iteration                      {1e3 * per_iteration:8.1f} ms")
    print(f"  target value alone (no gradient)   {1e3 * target_seconds:8.1f} ms "
          f"({100 * target_seconds / per_iteration:.0f} %)")
    print(f"  fit of 40 iterations: {total:.2f} s, of which in the compiled chunks "
          f"{compiled:.2f} s ({100 * compiled / total:.0f} %); tracing, set-up and the "
          f"post-fit k-hat check the rest")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    names = list(problems())
    parser.add_argument("--problems", default=",".join(names))
    parser.add_argument("--old", action="store_true",
                        help="also fit with the defaults before the stopping rule")
    parser.add_argument("--no-cost", action="store_true")
    parser.add_argument("--reuse", action="store_true",
                        help="also fit with ratio_reused=1, and with it and "
                             "n_samples_per_component=100")
    parser.add_argument("--dimensions", default="10,30,100,300")
    parser.add_argument("--replay", type=int, default=0,
                        help="replay stopping rules on tol=None fits of this many iterations")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args(argv)
    unknown = set(filter(None, args.problems.split(","))) - set(names)
    if unknown:
        parser.error(f"unknown problems {sorted(unknown)}; choose from {names}")
    from skgmmvi._tf._runtime import tensorflow

    tensorflow()
    print(f"load: {os.getloadavg()}  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    if args.replay:
        print_replay(list(filter(None, args.problems.split(","))), args.replay,
                     [int(seed) for seed in args.seeds.split(",")])
        return
    builders = problems()
    rows = []
    for name in filter(None, args.problems.split(",")):
        settings = ([("default", {})] + ([("old", OLD_DEFAULTS)] if args.old else [])
                    + (REUSE_SETTINGS if args.reuse else []))
        for setting, overrides in settings:
            rows.append((name, setting, run_problem(builders[name], overrides)))
            print_rows(rows[-1:])
    if rows:
        print()
        print_rows(rows)
        print_ratios(rows)
    if not args.no_cost:
        print_cost([int(d) for d in filter(None, args.dimensions.split(","))])
        print_time_split()
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
