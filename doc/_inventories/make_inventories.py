"""Write the small intersphinx inventories shipped in ``doc/_inventories``.

The documentation build must work offline (CI reaches PyPI only), so
``conf.py`` reads these local files instead of downloading ``objects.inv`` from
scikit-learn.org, numpy.org and tensorflow.org. Each file lists only the
objects these pages link to (or numpydoc's default
type aliases refer to), with the addresses of the projects' own pages.
TensorFlow publishes no Sphinx inventory, so its entries point at the API pages
of tensorflow.org.

Run ``python doc/_inventories/make_inventories.py`` after adding an entry.
"""

import zlib
from pathlib import Path

HERE = Path(__file__).parent

INVENTORIES = {
    "sklearn": ("scikit-learn", "1.9", [
        ("sklearn.mixture.GaussianMixture", "py:class",
         "modules/generated/sklearn.mixture.GaussianMixture.html#$"),
        ("sklearn.mixture.BayesianGaussianMixture", "py:class",
         "modules/generated/sklearn.mixture.BayesianGaussianMixture.html#$"),
        ("sklearn.model_selection.GridSearchCV", "py:class",
         "modules/generated/sklearn.model_selection.GridSearchCV.html#$"),
        ("sklearn.pipeline.Pipeline", "py:class",
         "modules/generated/sklearn.pipeline.Pipeline.html#$"),
        ("sklearn.preprocessing.StandardScaler", "py:class",
         "modules/generated/sklearn.preprocessing.StandardScaler.html#$"),
        ("sklearn.utils.estimator_checks.check_estimator", "py:function",
         "modules/generated/sklearn.utils.estimator_checks.check_estimator.html#$"),
        ("sklearn.datasets.load_breast_cancer", "py:function",
         "modules/generated/sklearn.datasets.load_breast_cancer.html#$"),
        ("sklearn.exceptions.ConvergenceWarning", "py:class",
         "modules/generated/sklearn.exceptions.ConvergenceWarning.html#$"),
    ]),
    "numpy": ("NumPy", "2", [
        ("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html#$"),
        ("numpy.memmap", "py:class", "reference/generated/numpy.memmap.html#$"),
        ("numpy.random.RandomState", "py:class",
         "reference/random/legacy.html#$"),
        ("numpy.load", "py:function", "reference/generated/numpy.load.html#$"),
        ("numpy.dtype", "py:class", "reference/generated/numpy.dtype.html#$"),
        ("array_like", "std:term", "glossary.html#term-array_like"),
    ]),
    # numpydoc's default type aliases refer to these (bool, iterable, ...).
    "python": ("Python", "3", [
        ("bltin-boolean-values", "std:label", "library/stdtypes.html#$"),
        ("iterable", "std:term", "glossary.html#term-iterable"),
        ("sequence", "std:term", "glossary.html#term-sequence"),
        ("None", "py:data", "library/constants.html#$"),
        ("True", "py:data", "library/constants.html#$"),
        ("False", "py:data", "library/constants.html#$"),
        ("int", "py:class", "library/functions.html#$"),
        ("float", "py:class", "library/functions.html#$"),
        ("str", "py:class", "library/stdtypes.html#$"),
        ("list", "py:class", "library/stdtypes.html#$"),
        ("tuple", "py:class", "library/stdtypes.html#$"),
        ("dict", "py:class", "library/stdtypes.html#$"),
        ("callable", "py:function", "library/functions.html#$"),
    ]),
    "tensorflow": ("TensorFlow", "2.21", [
        ("tf.data.Dataset", "py:class", "tf/data/Dataset"),
        ("tf.distribute.Strategy", "py:class", "tf/distribute/Strategy"),
        ("tf.distribute.MirroredStrategy", "py:class", "tf/distribute/MirroredStrategy"),
        ("tf.distribute.MultiWorkerMirroredStrategy", "py:class",
         "tf/distribute/MultiWorkerMirroredStrategy"),
        ("tf.keras.optimizers.Optimizer", "py:class", "tf/keras/optimizers/Optimizer"),
        ("tf.keras.optimizers.Adam", "py:class", "tf/keras/optimizers/Adam"),
        ("tf.Tensor", "py:class", "tf/Tensor"),
        ("tf.function", "py:function", "tf/function"),
    ]),
}


def write(name, project, version, entries):
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n"
              f"# Version: {version}\n"
              "# The remainder of this file is compressed using zlib.\n")
    body = "".join(
        f"{obj} {role} {-1 if role == 'std:label' else 1} {uri} "
        f"{'Boolean Values' if role == 'std:label' else '-'}\n"
        for obj, role, uri in entries)
    (HERE / f"{name}.inv").write_bytes(
        header.encode() + zlib.compress(body.encode()))


if __name__ == "__main__":
    for key, (project, version, entries) in INVENTORIES.items():
        write(key, project, version, entries)
