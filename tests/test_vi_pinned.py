"""Pinned VI fits: a handful of small fits over different designs whose results
must stay bit-identical while the backend is restructured.

The expected arrays live in ``tests/data/vi_pinned.npz``. A change that is meant
to alter the numbers (e.g. a different summation order in the estimates) must
regenerate them, in one command from the repository root::

    PYTHONPATH=$PWD python tests/test_vi_pinned.py --write

and say so in its commit message. Pins are machine-specific (bit for bit on the
machine that wrote them), like every same-seed guarantee of the project.
"""

import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from skgmmvi import VariationalGMMTarget  # noqa: E402
from skgmmvi.targets import GaussianMixtureTarget, Target  # noqa: E402

PIN_FILE = pathlib.Path(__file__).parent / "data" / "vi_pinned.npz"
#: Fitted attributes compared bit for bit.
PINNED_ATTRIBUTES = ("weights_", "means_", "covariances_", "elbo_history_")


class NumpyBanana(Target):
    """A banana in numpy (``x1 - x0^2 / 2`` standard normal, ``x0 ~ N(0, 4)``):
    exercises the propose/finish path of numpy targets."""

    uses_tensorflow = False
    n_features = 2

    def log_density_and_grad(self, x):
        bend = x[:, 1] - 0.5 * x[:, 0] ** 2
        value = -x[:, 0] ** 2 / 8.0 - 0.5 * bend ** 2
        grad = np.stack([-x[:, 0] / 4.0 + bend * x[:, 0], -bend], axis=1)
        return value, grad


def _target():
    return GaussianMixtureTarget(n_features=2, n_modes=3, random_state=1)


#: name -> (target factory, estimator parameters). Small and fast: each fit runs
#: a few dozen iterations of a few samples per component.
FITS = {
    "samtron_full": (_target, dict(algorithm="samtron", n_components=2, add_iters=5)),
    "samtron_diag": (_target, dict(algorithm="samtron", covariance_type="diag",
                                   add_iters=5)),
    "vips_more": (_target, dict(algorithm="vips", n_components=2, add_iters=5,
                                n_samples_per_component=30)),
    "ibayes": (_target, dict(algorithm="ibayes", n_components=3)),
    "reuse_decaying": (_target, dict(algorithm="SAMIDOG", n_components=2, add_iters=4,
                                     ratio_reused=1.5)),
    "numpy_target": (NumpyBanana, dict(algorithm="SEPIFUX", n_components=2)),
}
COMMON = dict(max_iter=24, tol=None, n_samples_per_component=20, init_scale=5.0,
              random_state=0)


def fit(name):
    """The pinned attributes of fit ``name`` as a dict of arrays."""
    make_target, parameters = FITS[name]
    vi = VariationalGMMTarget(make_target(), **{**COMMON, **parameters}).fit()
    return {attribute: np.asarray(getattr(vi, attribute))
            for attribute in PINNED_ATTRIBUTES}


def _flat_key(name, attribute):
    return f"{name}/{attribute}"


@pytest.mark.filterwarnings("ignore::skgmmvi.diagnostics.PoorFitWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", list(FITS))
def test_fit_is_bit_identical_to_the_pin(name):
    if not PIN_FILE.exists():
        pytest.fail(f"{PIN_FILE} is missing; write it with "
                    "`python tests/test_vi_pinned.py --write`.")
    with np.load(PIN_FILE) as pins:
        expected = {a: pins[_flat_key(name, a)] for a in PINNED_ATTRIBUTES}
    got = fit(name)
    for attribute in PINNED_ATTRIBUTES:
        assert got[attribute].shape == expected[attribute].shape, attribute
        np.testing.assert_array_equal(got[attribute], expected[attribute],
                                      err_msg=f"{name}: {attribute}")


def write_pins():
    """Fit every pinned design and store the results in :data:`PIN_FILE`."""
    import warnings

    warnings.simplefilter("ignore")
    arrays = {}
    for name in FITS:
        for attribute, value in fit(name).items():
            arrays[_flat_key(name, attribute)] = value
    PIN_FILE.parent.mkdir(exist_ok=True)
    np.savez_compressed(PIN_FILE, **arrays)
    print(f"wrote {len(FITS)} pinned fits to {PIN_FILE}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_vi_pinned.py --write")
    write_pins()
