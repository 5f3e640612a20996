"""Sphinx configuration of the skgmmvi documentation.

Build from the repository root::

    python -m sphinx -W -b html doc doc/_build/html
    python -m sphinx -W -b doctest doc doc/_build/doctest

Environment variables:

``SKGMMVI_GALLERY``
    Regular expression on example file names: the gallery examples it matches are
    run (their output and figures appear in the pages), the others are shown as
    code only. Default: every ``plot_*.py``. ``SKGMMVI_GALLERY=none`` runs none.
``SKGMMVI_GALLERY_RERUN``
    Set to ``1`` to run the selected examples even when sphinx-gallery has
    already run an unchanged copy (its MD5 cache in ``doc/auto_examples``).
``SKGMMVI_INTERSPHINX_ONLINE``
    Set to ``1`` to try the projects' online inventories before the small local
    copies in ``_inventories``. By default the build reads the local files only and
    needs no network.
"""

import os
import sys
import tempfile
from pathlib import Path

DOC = Path(__file__).resolve().parent
ROOT = DOC.parent
# Document the package of this checkout, installed or not.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import skgmmvi  # noqa: E402

project = "skgmmvi"
author = "the skgmmvi developers"
copyright = "the skgmmvi developers"
release = skgmmvi.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "_inventories", "**/*.ipynb", "**/*.py", "**/*.zip",
                    "**/*.md5", "**/*.json"]
templates_path = []
html_theme = "alabaster"
html_theme_options = {
    "description": "Gaussian mixtures with the scikit-learn API on TensorFlow",
    "fixed_sidebar": True,
}
html_static_path = []
# sphinx_gallery_conf holds a function (reset_argv), which Sphinx cannot pickle:
# it then re-reads every page on each build, which is what we want anyway.
suppress_warnings = ["config.cache"]

# --- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = True
numpydoc_class_members_toctree = False
numpydoc_show_inherited_class_members = False
# Types in Parameters/Returns become links (numpy, scikit-learn, TensorFlow).
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "ndarray": "numpy.ndarray",
    "RandomState": "numpy.random.RandomState",
    "memmap": "numpy.memmap",
    "Dataset": "tf.data.Dataset",
    "tf.Tensor": "tf.Tensor",
    "Strategy": "tf.distribute.Strategy",
    "Target": "skgmmvi.targets.Target",
}
numpydoc_xref_ignore = "all"
# Validate every docstring the build renders (-W turns a failure into an error),
# with all of numpydoc's checks but these, which the API does not follow on purpose:
# SA01 (a "See Also" section) and EX01 (an "Examples" section): the estimators and
#   the user guide have examples and cross-references; a section in every method
#   and target would repeat them;
# ES01 (an extended summary): a short method is fully said by its summary line;
# RT02 (a return type without a name): scikit-learn's drop-in docstrings name
#   their return values (``self : object``, ``bic : float``), and so do ours.
numpydoc_validation_checks = {"all", "SA01", "EX01", "ES01", "RT02"}
numpydoc_validation_exclude = {
    # The alias of EMGaussianMixture under scikit-learn's name: its parameters are
    # EMGaussianMixture's, documented there, to which its docstring points.
    r"\.GaussianMixture$",
    # A named tuple: its fields are documented as attributes (how it is read);
    # numpydoc would have them documented again as constructor parameters, and
    # its members (fields, count, index) carry Python's generated docstrings.
    r"\.Diagnostics(\.\w+)?$",
    # Constructors are documented in the class docstring (numpydoc's convention,
    # validated there); an __init__ shown in the API pages has no docstring of
    # ours (Target's is object.__init__'s).
    r"\.__init__$",
}

# --- doctest -------------------------------------------------------------------
doctest_global_setup = """
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import warnings
import numpy as np
np.set_printoptions(precision=3, suppress=True)
"""

# --- intersphinx: offline by default ---------------------------------------------
_INV = DOC / "_inventories"
_ONLINE = os.environ.get("SKGMMVI_INTERSPHINX_ONLINE") == "1"


def _inventory(url, name, online_inventory=None):
    local = str(_INV / f"{name}.inv")
    if _ONLINE and online_inventory is not False:
        return (url, (online_inventory, local))
    return (url, local)


intersphinx_mapping = {
    "python": _inventory("https://docs.python.org/3/", "python"),
    "sklearn": _inventory("https://scikit-learn.org/stable/", "sklearn"),
    "numpy": _inventory("https://numpy.org/doc/stable/", "numpy"),
    # tensorflow.org publishes no Sphinx inventory: the local file is all there is.
    "tensorflow": _inventory("https://www.tensorflow.org/api_docs/python/", "tensorflow",
                             online_inventory=False),
}
intersphinx_timeout = 10

# --- sphinx-gallery ---------------------------------------------------------------
_pattern = os.environ.get("SKGMMVI_GALLERY", "")
if _pattern.lower() == "none":
    _pattern = r"^$a"  # matches nothing
elif not _pattern:
    _pattern = r"/plot_"
_FIGURE_DIR = tempfile.mkdtemp(prefix="skgmmvi-gallery-")


def _example_argv(gallery_conf, script_vars):
    """Command line of an example run by the gallery: files go to a temp dir."""
    source = Path(script_vars["src_file"]).read_text(encoding="utf-8")
    return ["--out", _FIGURE_DIR] if "--out" in source else []


sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": _pattern,
    "ignore_pattern": r"__init__\.py",
    "reset_argv": _example_argv,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "min_reported_time": 0,
    "run_stale_examples": os.environ.get("SKGMMVI_GALLERY_RERUN") == "1",
}
