"""When the EM feature map about one centre is exact enough: the limits shared by
the numpy and TensorFlow EM paths (so that both take the same branch).

The feature map ``phi(x - c)`` about one centre ``c`` loses about ``eps * rho`` in
relative accuracy, with ``rho = max_k |P_k^T (mu_k - c)|^2`` the largest squared
Mahalanobis distance of the centre from a component (``P_k`` its precision
Cholesky factor). Above :data:`CANCELLATION_LIMIT` an EM iteration (or a scoring
call) works with the whitened residuals ``P_k^T (x - mu_k)`` about each
component's mean instead, as scikit-learn does; below it the feature map is
exact enough and faster.
"""

#: Largest ``rho`` for which an EM iteration or a scoring call uses the feature map.
CANCELLATION_LIMIT = 1e4

#: Largest ``rho`` for which the initialisation keeps the moment form's
#: covariances (error about ``eps * rho``); above it, or when they are not
#: positive definite, tied/diag/spherical covariances get a second pass about the
#: new means.
INIT_CANCELLATION_LIMIT = 1e12
