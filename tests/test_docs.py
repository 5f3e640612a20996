"""The documentation builds with warnings as errors, and its snippets run.

Two builds, each ``python -m sphinx -W`` from the repository root as the README
says, both in one subprocess (``tests/scripts/sphinx_builds.py``: TensorFlow
starts once and the estimators' compiled functions are traced once for both):

* ``-b doctest``: every ``>>>`` snippet of the user guide and of the docstrings
  shown in the API reference runs and prints what the page says;
* ``-b html``: the whole site with every gallery example run (their output and
  figures go into the pages; the examples are about four fifths of the HTML
  build's time, see ``doc/sg_execution_times.rst`` after a build). To run a
  subset, set ``SKGMMVI_GALLERY`` to a regular expression on file names (see
  ``doc/conf.py``); the test then checks the figures of those it names in
  ``GALLERY`` only.

sphinx-gallery writes its pages into ``doc/auto_examples`` and autosummary into
``doc/generated``; both are ignored by git.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GALLERY = ["plot_density_clustering", "plot_model_selection",
           "plot_em_weighted_density", "plot_mle_vs_em", "plot_vi_targets",
           "plot_breast_cancer_posterior", "plot_mixture_posterior",
           "plot_planar_robot", "plot_constrained_target", "plot_concentration_prior"]
MISSING = [name for name in ("sphinx", "numpydoc", "sphinx_gallery", "matplotlib")
           if importlib.util.find_spec(name) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"documentation tools not installed ({', '.join(MISSING)}); "
    "python -m pip install '.[docs]'")


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Both builds, run once: output directory, exit status per builder, and log."""
    out = tmp_path_factory.mktemp("docs")
    gallery = os.environ.get("SKGMMVI_GALLERY") or r"/plot_"
    env = dict(os.environ, SKGMMVI_GALLERY_RERUN="1",
               PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("SKGMMVI_INTERSPHINX_ONLINE", None)
    result = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "tests", "scripts", "sphinx_builds.py"),
         str(out), gallery],
        capture_output=True, text=True, timeout=1500, env=env, cwd=REPO_ROOT)
    log = result.stdout[-5000:] + result.stderr[-5000:]
    assert result.returncode == 0, log
    statuses = json.loads(result.stdout.strip().splitlines()[-1])
    return out, gallery, statuses, log


@pytest.mark.slow
def test_doctests_pass(builds):
    out, _, statuses, log = builds
    assert statuses["doctest"] == 0, log
    report = (out / "doctest" / "output.txt").read_text()
    assert "0 failures in tests" in report, report[-3000:]


@pytest.mark.slow
def test_html_builds_with_gallery(builds):
    out, gallery, statuses, log = builds
    assert statuses["html"] == 0, log
    html = out / "html"
    for page in ("index.html", "api.html", "generated/skgmmvi.EMGaussianMixture.html",
                 "generated/skgmmvi.io.npy_batches.html", "vi.html",
                 "auto_examples/index.html"):
        assert (html / page).is_file(), page
    examples = sorted(os.listdir(os.path.join(REPO_ROOT, "examples")))
    assert [f"{name}.py" for name in sorted(GALLERY)] == [
        name for name in examples if name.startswith("plot_")]
    for name in GALLERY:
        if gallery.lower() == "none" or not re.search(gallery, f"/{name}.py"):
            continue
        text = (html / "auto_examples" / f"{name}.html").read_text(encoding="utf-8")
        assert f"sphx_glr_{name}_001.png" in text, f"{name}: no figure in its page"
    # intersphinx resolved from the local inventories, without network
    index = (html / "index.html").read_text(encoding="utf-8")
    assert "scikit-learn.org/stable/modules/generated/sklearn.mixture.GaussianMixture" in index
