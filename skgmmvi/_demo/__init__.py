"""The ``python -m skgmmvi demo`` walk-through (see :mod:`skgmmvi.__main__`)."""

from pathlib import Path

from .plot import run_picture
from .sections import run_gradient_mle, run_iris, run_synthetic, run_variational


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
