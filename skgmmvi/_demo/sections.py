"""The demo's sections: synthetic data, gradient MLE, iris, variational inference."""

import numpy as np

from .compare import aligned_parameters, largest_parameter_difference, mixture_pair, timed_fit
from .data import (N_SAMPLES, SEED, TRUE_COVARIANCES, TRUE_MEANS, TRUE_WEIGHTS,
                   load_standardised_iris, make_synthetic_data)
from .report import format_matrix, format_seconds, format_vector, render_table, section


def fit_synthetic(X):
    """Fit both libraries on the synthetic data; skgmmvi twice, to time tracing.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 2)

    Returns
    -------
    ours : skgmmvi.EMGaussianMixture
        The second (steady-state) skgmmvi fit.
    reference : sklearn.mixture.GaussianMixture
    times : dict
        ``'first'`` and ``'second'`` skgmmvi fit times, ``'sklearn'`` fit time.
    """
    first, reference = mixture_pair(n_components=2)
    print("Fitting skgmmvi.EMGaussianMixture (backend='auto': data this small run "
          "the batched EM in numpy, without starting TensorFlow) ...", flush=True)
    first, first_time = timed_fit(first, X)
    ours, second_time = timed_fit(mixture_pair(n_components=2)[0], X)
    print("Fitting sklearn.mixture.GaussianMixture ...", flush=True)
    reference, sklearn_time = timed_fit(reference, X)
    if largest_parameter_difference(first, ours) > 1e-10:
        print("Note: the two skgmmvi fits differ; they should be identical.")
    times = {"first": first_time, "second": second_time, "sklearn": sklearn_time}
    return ours, reference, times


def parameter_table(ours, reference):
    """Table of true vs learned weights, means and covariances per component.

    Parameters
    ----------
    ours, reference : fitted Gaussian mixtures
        skgmmvi's and scikit-learn's fits on the synthetic data.

    Returns
    -------
    str
    """
    learned = [aligned_parameters(m, TRUE_MEANS) for m in (ours, reference)]
    truth = (TRUE_WEIGHTS, TRUE_MEANS, TRUE_COVARIANCES)
    rows = []
    for k in range(len(TRUE_WEIGHTS)):
        columns = [truth] + learned
        rows.append([f"component {k + 1}: weight"]
                    + [f"{w[k]:7.3f}" for w, _, _ in columns])
        rows.append(["             mean"]
                    + [format_vector(m[k]) for _, m, _ in columns])
        rows.append(["             covariance"]
                    + [format_matrix(c[k]) for _, _, c in columns])
    return render_table(["", "true", "skgmmvi", "sklearn"], rows)


def synthetic_summary_table(ours, reference, X, times):
    """Table of score, iterations, convergence and fit times of both libraries.

    Parameters
    ----------
    ours, reference : fitted Gaussian mixtures
    X : ndarray
        The training rows, for the mean log-likelihood.
    times : dict
        As returned by :func:`fit_synthetic`.

    Returns
    -------
    str
    """
    rows = [
        ["mean log-likelihood (score)", f"{ours.score(X):.6f}",
         f"{reference.score(X):.6f}"],
        ["n_iter_", str(ours.n_iter_), str(reference.n_iter_)],
        ["converged_", str(ours.converged_), str(reference.converged_)],
        ["fit time, first fit (*)", format_seconds(times["first"]),
         format_seconds(times["sklearn"])],
        ["fit time, second fit", format_seconds(times["second"]), "-"],
    ]
    return (render_table(["", "skgmmvi", "sklearn"], rows)
            + "\n(*) the first fit in a process includes one-off costs (imports, "
              "first calls).")


def run_synthetic():
    """Fit and report on the synthetic 2-D mixture.

    Returns
    -------
    X : ndarray of shape (N_SAMPLES, 2)
        The data, for the picture.
    ours : skgmmvi.EMGaussianMixture
        skgmmvi's fitted model, for the picture.
    """
    section(f"1. Synthetic 2-D data: {N_SAMPLES} rows from a 2-component "
            f"full-covariance mixture (seed {SEED})")
    X, _ = make_synthetic_data()
    ours, reference, times = fit_synthetic(X)
    print()
    print("Parameters (learned components matched to the true ones by nearest mean):")
    print(parameter_table(ours, reference))
    print()
    print(synthetic_summary_table(ours, reference, X, times))
    print(f"Largest |skgmmvi - sklearn| over weights, means, covariances: "
          f"{largest_parameter_difference(ours, reference):.2e}")
    return X, ours


# ------------------------------------------------------- gradient MLE section
def run_gradient_mle(X, em_model):
    """Fit MLEGaussianMixture (Adam) on the synthetic data; compare with EM.

    Parameters
    ----------
    X : ndarray of shape (N_SAMPLES, 2)
    em_model : skgmmvi.EMGaussianMixture
        The EM fit on the same data (same ``random_state``, same start).
    """
    from skgmmvi import MLEGaussianMixture

    section("2. The same data by gradient maximum likelihood (MLEGaussianMixture)")
    print("Adam on the mean log-likelihood from EM's starting point; full batch, "
          "then mini-batches of 100 rows.", flush=True)
    rows = [["EMGaussianMixture", f"{em_model.score(X):.6f}", str(em_model.n_iter_),
             "-"]]
    for label, kwargs in [("full batch", {}),
                          ("batch_size=100", {"batch_size": 100, "tol": 1e-3,
                                              "learning_rate": 0.005})]:
        model = MLEGaussianMixture(n_components=2, random_state=0, **kwargs)
        model, seconds = timed_fit(model, X)
        rows.append([f"MLEGaussianMixture, {label}", f"{model.score(X):.6f}",
                     str(model.n_iter_), format_seconds(seconds)])
    print(render_table(["", "mean log-likelihood", "iterations / epochs",
                        "fit time (incl. compile)"], rows))


# ----------------------------------------------------------------------- iris
def run_iris():
    """Fit both libraries on standardised iris and report scores and agreement.

    Prints mean log-likelihood, BIC, adjusted Rand index against the species,
    iterations and fit times.
    """
    from sklearn.metrics import adjusted_rand_score

    section("3. Iris (bundled with scikit-learn): 150 flowers, 4 standardised "
            "features, 3 species")
    X, species = load_standardised_iris()
    ours, reference = mixture_pair(n_components=3)
    ours, our_time = timed_fit(ours, X)
    reference, sklearn_time = timed_fit(reference, X)
    models = (ours, reference)
    rows = [
        ["mean log-likelihood (score)"] + [f"{m.score(X):.6f}" for m in models],
        ["BIC"] + [f"{m.bic(X):.3f}" for m in models],
        ["adjusted Rand index vs species"]
        + [f"{adjusted_rand_score(species, m.predict(X)):.4f}" for m in models],
        ["n_iter_"] + [str(m.n_iter_) for m in models],
        ["converged_"] + [str(m.converged_) for m in models],
        ["fit time", format_seconds(our_time),
         format_seconds(sklearn_time)],
    ]
    print(render_table(["", "skgmmvi", "sklearn"], rows))
    print(f"Largest |skgmmvi - sklearn| over weights, means, covariances: "
          f"{largest_parameter_difference(ours, reference):.2e}")
    n_repeated = X.shape[0] - np.unique(X, axis=0).shape[0]
    if n_repeated:
        print(f"Note: iris has {n_repeated} repeated row(s). skgmmvi then initialises "
              "on the distinct rows, weighted by\ntheir counts (see init_params), so "
              "its starting point, and with it n_iter_ and the last digits,\ncan "
              "differ from scikit-learn's.")


# ----------------------------------------------------- variational inference
#: The demo's target: a 2-D mixture of 6 equal Gaussians, known to the fit only
#: through its log-density (normalised, so log Z = 0 and -ELBO = KL(q || p)).
VI_TARGET = {"n_features": 2, "n_modes": 6, "random_state": 1}
VI_SETTINGS = {"max_iter": 500, "n_samples_per_component": 100,
               "component_stepsize": 0.1, "add_iters": 10, "init_scale": 30.0,
               "random_state": 0}


def run_variational():
    """Fit VariationalGMMTarget (SAMTRON) to a 6-mode 2-D density and report it.

    Prints target evaluations, components, modes found, ``-ELBO`` (= KL, the
    target being normalised), the importance-sampling estimate of ``log Z``
    (true value 0) and the fit time.
    """
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.targets import GaussianMixtureTarget

    section("4. Variational inference: a mixture fitted to a density known only "
            "through log p(x) (VariationalGMMTarget)")
    target = GaussianMixtureTarget(**VI_TARGET)
    print(f"Target: {VI_TARGET['n_modes']} equal Gaussians in 2-D, means spread over "
          "[-50, 50]^2; the fit starts from one broad component\nand adds, moves and "
          "reweights components by natural-gradient steps (SAMTRON).", flush=True)
    model, seconds = timed_fit(VariationalGMMTarget(target, **VI_SETTINGS), None)
    n_heavy = int(np.sum(model.weights_ > 0.01))
    rows = [
        ["target evaluations", f"{model.n_target_evaluations_:,}"],
        ["iterations", str(model.n_iter_)],
        ["components (weight > 1%)", f"{model.n_components_} ({n_heavy})"],
        ["modes found", f"{target.count_found_modes(model.means_)} of "
                        f"{VI_TARGET['n_modes']}"],
        ["-ELBO = KL(q || p), 10 000 samples",
         f"{-model.elbo(n_samples=10000, random_state=0):.4f}"],
        ["log Z estimate (true: 0)",
         f"{model.log_evidence(n_samples=10000, random_state=0):.4f}"],
        ["fit time (incl. compile)", format_seconds(seconds)],
    ]
    print(render_table(["", "VariationalGMMTarget"], rows))
