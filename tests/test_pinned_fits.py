"""Pinned fits: a few small EM (numpy and TensorFlow backends), MLE and VI fits
whose fitted arrays, per-iteration objective and scores must not change.

The arrays live in ``tests/data/pinned_fits.npz``, written by
``tests/scripts/pinned_fits.py`` (which also defines the fits). They are compared
bit for bit: a restructuring of the estimators or the backend must give the same
numbers. Regenerate the file only for an intended change of results, say why in
the commit, from the repository root::

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python tests/scripts/pinned_fits.py

Fits listed in :data:`SUMMATION_ORDER_RTOL` are compared to a relative 1e-12
instead, with the reason given there.
"""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "scripts"))
from pinned_fits import DATA_FILE, FITS, pinned_arrays  # noqa: E402

#: Fits whose summation order may legitimately differ from the pinned run -> why.
SUMMATION_ORDER_RTOL = {}


@pytest.fixture(scope="module")
def pinned():
    with np.load(DATA_FILE) as stored:
        return dict(stored)


@pytest.mark.parametrize("name", sorted(FITS))
def test_fit_matches_pinned_arrays(name, pinned):
    arrays = pinned_arrays(name)
    expected_keys = sorted(key for key in pinned if key.startswith(name + "/"))
    assert sorted(arrays) == expected_keys
    for key in expected_keys:
        assert arrays[key].dtype == pinned[key].dtype, key
        if name in SUMMATION_ORDER_RTOL:
            np.testing.assert_allclose(arrays[key], pinned[key], rtol=1e-12, atol=0,
                                       err_msg=key)
        else:
            np.testing.assert_array_equal(arrays[key], pinned[key], err_msg=key)
