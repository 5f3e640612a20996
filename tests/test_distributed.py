"""tf.distribute strategies give the single-device fit (run in subprocesses)."""

import json
import socket
import os
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO_ROOT, "tests", "scripts")


def run_script(name, *args, timeout=300):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get(
        "PYTHONPATH", ""))
    result = subprocess.run([sys.executable, os.path.join(SCRIPTS, name), *args],
                            capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_mirrored_strategy_over_two_cpus_equals_single_device():
    report = run_script("mirrored_fit.py")
    assert report.pop("n_replicas") == 2
    for name, relative_difference in report.items():
        assert relative_difference < 1e-8, (name, relative_difference)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_multi_worker_strategy_over_two_processes_equals_single_device():
    ports = [str(p) for p in free_ports(2)]
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get(
        "PYTHONPATH", ""))
    script = os.path.join(SCRIPTS, "multiworker_fit.py")
    workers = [subprocess.Popen([sys.executable, script, str(i), *ports], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for i in range(2)]
    reports = []
    try:
        for worker in workers:
            out, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err[-3000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for report in reports:
        assert report.pop("n_replicas") == 2
        report.pop("worker")
        for name, relative_difference in report.items():
            assert relative_difference < 1e-8, (name, relative_difference)
