"""Pinned fits: a few small EM (numpy and TensorFlow backends), MLE and VI fits
whose fitted arrays, per-iteration objective and scores must not change.

The arrays live in ``tests/data/pinned_fits.npz``, written by
``tests/scripts/pinned_fits.py`` (which also defines the fits). They are compared
bit for bit: a restructuring of the estimators or the backend must give the same
numbers. Bit for bit holds on one machine; across machines, the BLAS that numpy
and TensorFlow call picks its kernels by CPU (OpenBLAS's Haswell kernels on one,
SkylakeX on an AVX-512 machine), and those sum in another order. So float
arrays are compared to within :data:`ACROSS_CPUS` of each array's largest
magnitude, or of 1 where that is smaller (the ELBO history of a fit that is
exact is zero up to rounding: about 1e-16, which the other kernels change by
as much); measured across those two kernels, the differences are at most
1.2e-14 of that scale (``em_numpy_full``'s scores). Integers are compared
exactly. This is far below any change a restructuring that changes results
would make. Regenerate the file only for an
intended change of results, say why in the commit, from the repository root::

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
#: Largest difference (relative to the array's largest magnitude) that another
#: CPU's BLAS kernels may make; see the module docstring.
ACROSS_CPUS = 1e-12


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
        elif pinned[key].dtype.kind == "f" and pinned[key].size:
            scale = max(np.max(np.abs(pinned[key])), 1.0)
            np.testing.assert_allclose(arrays[key], pinned[key], rtol=0,
                                       atol=ACROSS_CPUS * scale, err_msg=key)
        else:
            np.testing.assert_array_equal(arrays[key], pinned[key], err_msg=key)
