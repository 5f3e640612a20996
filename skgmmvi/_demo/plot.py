"""The demo's picture: fitted density contours over the data."""

import numpy as np

from .data import TRUE_MEANS
from .report import section

PNG_NAME = "demo_density.png"
MATPLOTLIB_MISSING = ("matplotlib is not installed: pip install 'skgmmvi[plot]' "
                      "(or pip install matplotlib) to get the picture")


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

    ``model`` and ``X`` are as in :func:`plot_density`; ``out_dir`` is an
    existing folder (a :class:`pathlib.Path`).
    """
    section("5. Picture")
    path = (out_dir / PNG_NAME).resolve()
    if plot_density(model, X, path):
        print(f"Wrote {path}")
    else:
        print(MATPLOTLIB_MISSING)
