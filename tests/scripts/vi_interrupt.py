"""Fit VariationalGMMTarget until interrupted; report how the estimator was left.

The script fits a short warm-up (so tracing is done), prints ``ready``, then
starts a fit of the same estimator that would run for minutes (``tol=None``:
no stopping rule can end it first). The parent sends SIGINT; the script prints
one JSON line: whether KeyboardInterrupt arrived and whether the estimator kept
its previous fitted state exactly.
"""

import json
import os
import signal
import sys
import time
import warnings

# A shell's background job starts with SIGINT ignored, and Python then installs no
# KeyboardInterrupt handler: the fit would run to the end. Install it.
signal.signal(signal.SIGINT, signal.default_int_handler)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

import numpy as np  # noqa: E402

from skgmmvi import VariationalGMMTarget  # noqa: E402
from skgmmvi.targets import FunnelTarget  # noqa: E402

warnings.simplefilter("ignore")
vi = VariationalGMMTarget(FunnelTarget(), max_iter=3, random_state=0).fit()
before = {k: np.copy(v) for k, v in vars(vi).items() if isinstance(v, np.ndarray)}
vi.set_params(max_iter=100_000, tol=None, random_state=1)
print("ready", flush=True)
started = time.perf_counter()
interrupted = False
try:
    vi.fit()
except KeyboardInterrupt:
    interrupted = True
after = {k: v for k, v in vars(vi).items() if isinstance(v, np.ndarray)}
unchanged = (before.keys() == after.keys()
             and all(np.array_equal(before[k], after[k]) for k in before))
print(json.dumps({"interrupted": interrupted, "unchanged": unchanged, "n_iter": int(vi.n_iter_),
                  "seconds": time.perf_counter() - started}), flush=True)
