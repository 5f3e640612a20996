"""Choosing the number of components
==================================

Two ways to choose ``n_components`` of :class:`~skgmmvi.EMGaussianMixture`:

* cross-validation with :class:`~sklearn.model_selection.GridSearchCV`, whose
  default score for these estimators is the mean log-likelihood of the held-out
  rows (``score``), and
* the Bayesian and Akaike information criteria, ``bic`` and ``aic``, of fits on
  all the data, in a loop.

Run: ``python examples/plot_model_selection.py [--out DIR]``.
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from skgmmvi import EMGaussianMixture  # noqa: E402

parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
parser.add_argument("--out", default=".", help="folder for the PNG file")
args = parser.parse_args()

# %%
# Data: four clusters in 2-D
# --------------------------

rng = np.random.RandomState(1)
centres = np.array([[-4, 0], [0, 4], [4, 0], [0, -3]])
X = np.vstack([rng.randn(250, 2) * [1.0, 0.6] + c for c in centres])
X = X[rng.permutation(len(X))]  # cross-validation folds take rows in order
n_components = list(range(1, 9))

# %%
# Held-out log-likelihood
# -----------------------
# Five folds; each candidate is fitted on four fifths of the rows and scored on
# the fifth. Both covariance types are searched at once.

search = GridSearchCV(EMGaussianMixture(random_state=0),
                      {"n_components": n_components,
                       "covariance_type": ["full", "diag"]}, cv=5)
search.fit(X)
print("best by cross-validation:", search.best_params_,
      f"held-out mean log-likelihood {search.best_score_:.4f}")
cv_full = search.cv_results_["mean_test_score"][
    search.cv_results_["param_covariance_type"] == "full"]

# %%
# Information criteria
# --------------------
# ``bic`` and ``aic`` penalise ``-2 log L`` by the number of free parameters;
# smaller is better. BIC's penalty grows with the number of rows and picks
# fewer components than AIC.

bic, aic = [], []
for k in n_components:
    model = EMGaussianMixture(n_components=k, random_state=0).fit(X)
    bic.append(model.bic(X))
    aic.append(model.aic(X))
print("best by BIC:", n_components[np.argmin(bic)], " best by AIC:",
      n_components[np.argmin(aic)])

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].plot(n_components, cv_full, "o-")
axes[0].set_xlabel("n_components")
axes[0].set_ylabel("held-out mean log-likelihood")
axes[0].set_title("GridSearchCV, covariance_type='full'")
axes[1].plot(n_components, bic, "o-", label="BIC")
axes[1].plot(n_components, aic, "s-", label="AIC")
axes[1].set_xlabel("n_components")
axes[1].legend()
axes[1].set_title("information criteria (smaller is better)")
fig.tight_layout()
os.makedirs(args.out, exist_ok=True)
fig.savefig(os.path.join(args.out, "model_selection.png"), dpi=90)
