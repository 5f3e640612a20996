"""Where the time of a VI iteration goes: ``tf.profiler`` on the compiled
iteration, op time summed per module (the iteration has one name scope per
module, see ``skgmmvi._tf.vi.iteration.Iteration.finish``).

Usage::

    python benchmarks/profile_vi_modules.py [--problem stm20|planar300]
        [--iterations 30] [--warmup 3]

A fit of ``--warmup`` iterations traces the compiled iteration; a second fit of
``--iterations`` iterations runs under the profiler (same hyperparameters, no
retrace). Prints the self time of the ops per module scope and its share.
"""

import argparse
import collections
import glob
import json
import sys
import shutil
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure this checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_vi import SCALE_PROBLEMS  # noqa: E402

MODULES = ("propose", "target", "sample_selection", "ng_estimation", "component_stepsize",
           "component_update", "weight_stepsize", "weight_update", "component_adaptation")


def module_of(op_name):
    """The module scope an op's name lies in (``other`` if none)."""
    parts = op_name.split("/")
    for part in parts:
        if part in MODULES:
            return part
    return "other"


def op_self_times(logdir):
    """``{op name: self time in microseconds}`` from the profiler's op statistics."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    paths = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)
    data, ok = plugin.xspace_to_tools_data(paths, "framework_op_stats", {})
    if not ok:
        raise RuntimeError(f"the profiler's statistics could not be read: {data[:200]}")
    table = json.loads(data)[0]
    columns = [column["id"] for column in table["cols"]]
    name, self_time = columns.index("operation"), columns.index("total_self_time")
    times = collections.Counter()
    for row in table["rows"]:
        times[row["c"][name]["v"]] += float(row["c"][self_time]["v"])
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", default="stm20", choices=sorted(SCALE_PROBLEMS))
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)
    from skgmmvi._tf._runtime import tensorflow

    tf = tensorflow()
    build = SCALE_PROBLEMS[args.problem]
    build(300 if args.problem == "planar300" else 20).set_params(max_iter=args.warmup).fit()
    estimator = build(300 if args.problem == "planar300" else 20).set_params(
        max_iter=args.iterations)
    logdir = tempfile.mkdtemp(prefix="vi_profile_")
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    estimator.fit()
    seconds = time.perf_counter() - start
    tf.profiler.experimental.stop()
    times = op_self_times(logdir)
    shutil.rmtree(logdir)
    per_module = collections.Counter()
    for name, micros in times.items():
        per_module[module_of(name)] += micros
    total = sum(per_module.values())
    print(f"{args.problem}: {args.iterations} iterations in {seconds:.2f} s "
          f"({1000 * seconds / args.iterations:.0f} ms per iteration, wall, profiled)")
    print(f"{'module':>22} | {'op time s':>9} | share")
    for module, micros in per_module.most_common():
        print(f"{module:>22} | {micros / 1e6:9.2f} | {100 * micros / total:5.1f} %")
    print("\nlargest ops:")
    for name, micros in times.most_common(15):
        print(f"  {micros / 1e6:8.2f} s  {name}")


if __name__ == "__main__":
    main()
