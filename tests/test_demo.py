"""The README's first quick-start command: ``python -m skgmmvi demo``."""

import importlib.util
import os
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_demo_runs_and_reports(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get(
        "PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, "-m", "skgmmvi", "demo", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    out = result.stdout
    for heading in ("1. Synthetic 2-D data", "2. The same data by gradient maximum",
                    "3. Iris", "4. Variational inference", "5. Picture"):
        assert heading in out
    assert "modes found" in out and "6 of 6" in out
    assert "mean log-likelihood" in out and "MLEGaussianMixture, full batch" in out
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "demo_density.png").stat().st_size > 10_000
    else:
        assert "matplotlib" in out
