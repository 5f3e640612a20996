"""Run the documentation's doctest and HTML builds in one Python process.

Usage (from the repository root)::

    python tests/scripts/sphinx_builds.py OUT GALLERY

Each build is ``python -m sphinx -W --keep-going -b BUILDER`` as the README says,
started through Sphinx's own entry point: first ``doctest`` with no gallery
example run, then ``html`` with the examples that the regular expression
``GALLERY`` matches (``SKGMMVI_GALLERY``, see ``doc/conf.py``). One process
starts TensorFlow once and traces the estimators' compiled functions once for the
doctests and the examples; ``tests/test_docs.py`` reads the result.

Prints one JSON line last: ``{builder: exit status}``; the builds' own output
comes before it.
"""

import json
import os
import sys

from sphinx.cmd.build import build_main


def build(builder, out, gallery):
    """One Sphinx build of ``doc`` into ``out/builder``; returns its exit status."""
    os.environ["SKGMMVI_GALLERY"] = gallery  # read by doc/conf.py, run per build
    print(f"=== sphinx -b {builder} (gallery {gallery!r})", flush=True)
    status = build_main(["-W", "--keep-going", "-b", builder,
                         "-d", os.path.join(out, f"doctrees-{builder}"), "doc",
                         os.path.join(out, builder)])
    sys.stdout.flush()
    sys.stderr.flush()
    return status


def main(out, gallery):
    statuses = {"doctest": build("doctest", out, "none"),
                "html": build("html", out, gallery)}
    print(json.dumps(statuses), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
