"""Command-line entry point: ``python -m skgmmvi demo [--out DIR]``.

The ``demo`` subcommand fits :class:`skgmmvi.EMGaussianMixture` and
:class:`sklearn.mixture.GaussianMixture` side by side, on synthetic 2-D data and
on the iris data set that scikit-learn ships, fits the synthetic data again with
:class:`skgmmvi.MLEGaussianMixture` (gradient maximum likelihood), fits
:class:`skgmmvi.VariationalGMMTarget` to a 6-mode density known only through its
log-density, prints what each learned and how long it took, and writes
``demo_density.png`` (fitted density contours) when matplotlib is installed.
Nothing is downloaded.
"""

import argparse
import sys
from pathlib import Path
from time import perf_counter

import numpy as np

#: Parameters of the synthetic mixture: well separated, elongated, rotated.
TRUE_WEIGHTS = np.array([0.4, 0.6])
TRUE_MEANS = np.array([[-2.0, 0.0], [2.0, 1.0]])
TRUE_COVARIANCES = np.array([[[1.0, 0.8], [0.8, 1.0]],
                             [[0.6, -0.3], [-0.3, 0.4]]])
N_SAMPLES = 1000
SEED = 0
PNG_NAME = "demo_density.png"
MATPLOTLIB_MISSING = ("matplotlib is not installed: pip install 'skgmmvi[plot]' "
                      "(or pip install matplotlib) to get the picture")


# ---------------------------------------------------------------------- data
def make_synthetic_data(n_samples=N_SAMPLES, seed=SEED):
    """Draw rows from the two-component full-covariance mixture ``TRUE_*``.

    Parameters
    ----------
    n_samples : int, default=N_SAMPLES
        Number of rows.
    seed : int, default=SEED
        Seed of the random generator, so that every run sees the same data.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The rows, shuffled.
    labels : ndarray of shape (n_samples,)
        The component each row was drawn from.
    """
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(TRUE_WEIGHTS), size=n_samples, p=TRUE_WEIGHTS)
    X = np.empty((n_samples, TRUE_MEANS.shape[1]))
    for k, (mean, cov) in enumerate(zip(TRUE_MEANS, TRUE_COVARIANCES)):
        rows = labels == k
        X[rows] = rng.multivariate_normal(mean, cov, size=int(rows.sum()))
    return X, labels


def load_standardised_iris():
    """Load scikit-learn's bundled iris data and standardise its features.

    Returns
    -------
    X : ndarray of shape (150, 4)
        Features scaled to zero mean and unit variance.
    species : ndarray of shape (150,)
        The true species of each flower (0, 1, 2).
    """
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    iris = load_iris()
    return StandardScaler().fit_transform(iris.data), iris.target


# ------------------------------------------------------------------- fitting
def timed_fit(model, X):
    """Fit ``model`` on ``X`` and measure the wall-clock time.

    Parameters
    ----------
    model : estimator
        An unfitted Gaussian mixture.
    X : ndarray of shape (n_samples, n_features) or None
        Training rows (None for a VariationalGMMTarget with a target).

    Returns
    -------
    model : estimator
        The fitted model.
    seconds : float
        Time the fit took.
    """
    start = perf_counter()
    model.fit(X)
    return model, perf_counter() - start


def mixture_pair(n_components):
    """An skgmmvi and a scikit-learn mixture built with the same arguments.

    Parameters
    ----------
    n_components : int
        Number of mixture components.

    Returns
    -------
    ours : skgmmvi.EMGaussianMixture
    reference : sklearn.mixture.GaussianMixture
    """
    from sklearn.mixture import GaussianMixture

    from skgmmvi import EMGaussianMixture

    kwargs = dict(n_components=n_components, covariance_type="full", random_state=0)
    return EMGaussianMixture(**kwargs), GaussianMixture(**kwargs)


def match_components(reference_means, means):
    """Order of ``means`` that pairs each with the nearest reference mean.

    Parameters
    ----------
    reference_means : ndarray of shape (n_components, n_features)
        Means to align to (e.g. the true ones).
    means : ndarray of shape (n_components, n_features)
        Means of a fitted model, in arbitrary label order.

    Returns
    -------
    order : ndarray of shape (n_components,)
        ``means[order][k]`` is the component matched to ``reference_means[k]``
        (one-to-one, minimising the total distance).
    """
    from scipy.optimize import linear_sum_assignment

    distances = np.linalg.norm(reference_means[:, None, :] - means[None, :, :], axis=2)
    _, order = linear_sum_assignment(distances)
    return order


def aligned_parameters(model, reference_means):
    """Weights, means and covariances of ``model`` aligned to ``reference_means``.

    Parameters
    ----------
    model : fitted Gaussian mixture with ``covariance_type='full'``
    reference_means : ndarray of shape (n_components, n_features)

    Returns
    -------
    weights, means, covariances : ndarray
        The fitted parameters, components reordered by :func:`match_components`.
    """
    order = match_components(reference_means, model.means_)
    return model.weights_[order], model.means_[order], model.covariances_[order]


def largest_parameter_difference(ours, reference):
    """Largest absolute difference between two fits' parameters, aligned.

    Parameters
    ----------
    ours, reference : fitted Gaussian mixtures with ``covariance_type='full'``

    Returns
    -------
    float
        Maximum over weights, means and covariances of ``|ours - reference|``.
    """
    mine = aligned_parameters(ours, reference.means_)
    theirs = (reference.weights_, reference.means_, reference.covariances_)
    return max(float(np.max(np.abs(a - b))) for a, b in zip(mine, theirs))


# ---------------------------------------------------------------- formatting
def format_vector(values, digits=3):
    """Format a 1-D array as ``[a, b, ...]`` with fixed decimals.

    Parameters
    ----------
    values : array-like of shape (n,)
    digits : int, default=3
        Decimals shown.

    Returns
    -------
    str
    """
    return "[" + ", ".join(f"{v:{digits + 4}.{digits}f}" for v in values) + "]"


def format_matrix(matrix, digits=3):
    """Format a 2-D array as one bracketed line per row.

    Parameters
    ----------
    matrix : array-like of shape (n, m)
    digits : int, default=3
        Decimals shown.

    Returns
    -------
    str
        Rows separated by newlines, aligned like numpy's own printing.
    """
    rows = [format_vector(row, digits) for row in matrix]
    lines = [(" " if i else "[") + row for i, row in enumerate(rows)]
    lines[-1] += "]"
    return "\n".join(lines)


def render_table(header, rows):
    """Lay out a table whose cells may span several lines.

    Parameters
    ----------
    header : list of str
        Column titles.
    rows : list of list of str
        Cells; a cell containing newlines occupies several lines.

    Returns
    -------
    str
        The table, with a rule under the header.
    """
    split = [[str(cell).split("\n") for cell in row] for row in [header] + rows]
    widths = [max(len(line) for row in split for line in row[col])
              for col in range(len(header))]
    out = []
    for index, row in enumerate(split):
        for i in range(max(len(cell) for cell in row)):
            parts = [(cell[i] if i < len(cell) else "").ljust(width)
                     for cell, width in zip(row, widths)]
            out.append("  ".join(parts).rstrip())
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def format_seconds(seconds):
    """Format a duration for the tables, e.g. ``'0.012 s'``.

    Parameters
    ----------
    seconds : float

    Returns
    -------
    str
    """
    return f"{seconds:.3f} s"


def section(title):
    """Print a section title underlined with ``=``.

    Parameters
    ----------
    title : str
    """
    print()
    print(title)
    print("=" * len(title))


# ------------------------------------------------------------ synthetic data
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
    print("Fitting skgmmvi.EMGaussianMixture: the first fit starts TensorFlow and "
          "compiles the EM loop (a few seconds, once per process) ...", flush=True)
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
            + "\n(*) skgmmvi's first fit in a process includes the one-off "
              "TensorFlow start-up and compilation.")


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
        ["fit time", format_seconds(our_time) + " (already compiled)",
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
VI_SETTINGS = {"max_iter": 250, "n_samples_per_component": 100,
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


# -------------------------------------------------------------------- picture
def density_grid(model, X, n_points=200, margin=1.5):
    """Log-density of ``model`` on a regular grid covering ``X``.

    Parameters
    ----------
    model : fitted Gaussian mixture on 2-D data
    X : ndarray of shape (n_samples, 2)
        The data the grid must cover.
    n_points : int, default=200
        Grid points per axis.
    margin : float, default=1.5
        Extra room around the data, in data units.

    Returns
    -------
    xx, yy, log_density : ndarray of shape (n_points, n_points)
    """
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], n_points),
                         np.linspace(low[1], high[1], n_points))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    return xx, yy, model.score_samples(grid).reshape(xx.shape)


def plot_density(model, X, path):
    """Draw the fitted density contours over the data and save them as PNG.

    Parameters
    ----------
    model : skgmmvi.EMGaussianMixture
        Fitted on ``X``.
    X : ndarray of shape (n_samples, 2)
    path : pathlib.Path
        Where to write the PNG.

    Returns
    -------
    bool
        False when matplotlib is not installed (nothing is written).
    """
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    xx, yy, log_density = density_grid(model, X)
    top = np.floor(log_density.max())
    levels = np.arange(top - 9.0, top + 0.5)

    fig, ax = plt.subplots(figsize=(7.5, 6))
    ax.scatter(X[:, 0], X[:, 1], s=6, color="0.55", alpha=0.6, label="data")
    contours = ax.contour(xx, yy, log_density, levels=levels, cmap="viridis",
                          linewidths=1.0)
    ax.scatter(TRUE_MEANS[:, 0], TRUE_MEANS[:, 1], marker="o", s=260,
               facecolor="none", edgecolor="black", linewidth=2.0,
               label="true means", zorder=3)
    ax.scatter(model.means_[:, 0], model.means_[:, 1], marker="+", s=220,
               color="red", linewidth=2.5, label="learned means (skgmmvi)", zorder=4)
    handles, _ = ax.get_legend_handles_labels()
    handles.insert(1, Line2D([], [], color=plt.get_cmap("viridis")(0.6),
                             label="fitted density contours"))
    ax.legend(handles=handles, loc="lower right", framealpha=0.9)
    ax.set_title("skgmmvi.EMGaussianMixture: fitted density on synthetic 2-D data\n"
                 "(2 components, covariance_type='full')")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_aspect("equal")
    colour_axes = make_axes_locatable(ax).append_axes("right", size="4%", pad=0.1)
    fig.colorbar(contours, cax=colour_axes, label="log density (score_samples)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def run_picture(model, X, out_dir):
    """Write ``demo_density.png`` to ``out_dir`` and say where, or why not.

    Parameters
    ----------
    model : skgmmvi.EMGaussianMixture
        Fitted on ``X``.
    X : ndarray of shape (n_samples, 2)
    out_dir : pathlib.Path
        Existing output folder.
    """
    section("5. Picture")
    path = (out_dir / PNG_NAME).resolve()
    if plot_density(model, X, path):
        print(f"Wrote {path}")
    else:
        print(MATPLOTLIB_MISSING)


# ------------------------------------------------------------------------ CLI
def demo(out_dir):
    """Run the whole demo: synthetic data, gradient MLE, iris, variational
    inference, then the picture.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder for ``demo_density.png``; created if missing.

    Returns
    -------
    int
        Exit status, 0.
    """
    import sklearn

    import skgmmvi

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"skgmmvi {skgmmvi.__version__} vs scikit-learn {sklearn.__version__}: "
          "EMGaussianMixture against GaussianMixture, same arguments "
          "(covariance_type='full', random_state=0)")
    X, ours = run_synthetic()
    run_gradient_mle(X, ours)
    run_iris()
    run_variational()
    run_picture(ours, X, out_dir)
    return 0


def build_parser():
    """The argument parser of the ``skgmmvi`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="skgmmvi",
        description="Gaussian mixture models with the scikit-learn API on TensorFlow.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    demo_parser = commands.add_parser(
        "demo", help="compare skgmmvi with scikit-learn on synthetic data and iris",
        description="Fit skgmmvi.EMGaussianMixture and sklearn.mixture."
                    "GaussianMixture on synthetic 2-D data and on iris, print the "
                    f"results and write {PNG_NAME}.")
    demo_parser.add_argument(
        "--out", default=".", metavar="DIR",
        help=f"folder for {PNG_NAME} (default: the current folder; created if "
             "missing)")
    return parser


def main(argv=None):
    """Run the ``skgmmvi`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status.
    """
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return demo(args.out)
    return 2


if __name__ == "__main__":
    sys.exit(main())
