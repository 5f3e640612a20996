"""tf.distribute strategies give the single-device fit (run in subprocesses)."""

import json
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO_ROOT, "tests", "scripts")


def run_script(name, *args, timeout=300):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get(
        "PYTHONPATH", ""))
    result = subprocess.run([sys.executable, os.path.join(SCRIPTS, name), *args],
                            capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mirrored_strategy_over_two_cpus_equals_single_device():
    report = run_script("mirrored_fit.py")
    assert report.pop("n_replicas") == 2
    for name, relative_difference in report.items():
        assert relative_difference < 1e-8, (name, relative_difference)
