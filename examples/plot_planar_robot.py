"""Planar robot: joint configurations that reach four goals
=========================================================

A planar arm of ten links of length 1 should place its end effector on one of
four goals, ``(7, 0)``, ``(-7, 0)``, ``(0, 7)`` and ``(0, -7)``. The target
:class:`skgmmvi.targets.PlanarRobotTarget` is the posterior over the ten joint
angles: a Gaussian prior that prefers small angles after the first joint, times
the likelihood of the nearest goal. It is multimodal (each goal, and several
bendings of the arm per goal), which a single Gaussian cannot represent.

:class:`~skgmmvi.VariationalGMMTarget` starts from components placed at prior
samples, as in ``benchmarks/bench_vi.py``, with a short budget. The picture
draws arms sampled from the fitted mixture.

Run: ``python examples/plot_planar_robot.py [--out DIR]``.
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skgmmvi import VariationalGMMTarget  # noqa: E402
from skgmmvi.targets import PlanarRobotTarget  # noqa: E402

parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
parser.add_argument("--out", default=".", help="folder for the PNG file")
parser.add_argument("--max-iter", type=int, default=150, help="iterations")
args = parser.parse_args()

# %%
# Fit
# ---

target = PlanarRobotTarget(n_links=10, n_goals=4)
n_start = 20
prior_scale = np.array([1.0] + [0.2] * 9)
vi = VariationalGMMTarget(
    target, n_components=n_start, n_samples_per_component=100,
    component_stepsize=0.1, add_iters=25, del_iters=100,
    init_mean=target.prior_sample(n_start, random_state=0),
    init_scale=prior_scale / 4, max_iter=args.max_iter, random_state=0).fit()
samples, _ = vi.sample(5000)
print(f"{vi.n_target_evaluations_} target evaluations, {vi.n_components_} components, "
      f"-ELBO {-vi.elbo(n_samples=10000):.2f}")
print(f"goals reached by samples of q: {target.count_reached_goals(samples)} of 4")

# %%
# Arms drawn from the fitted mixture
# ----------------------------------
# Each line is one sample of q: the joints at the cumulative sums of
# ``(cos c_i, sin c_i)`` with ``c = cumsum(angles)``. Red crosses are the goals.


def joints(angles):
    """Positions of the base and of the ten joints for one configuration."""
    c = np.cumsum(angles)
    return np.vstack([[0.0, 0.0], np.c_[np.cumsum(np.cos(c)), np.cumsum(np.sin(c))]])


rng = np.random.RandomState(0)
fig, ax = plt.subplots(figsize=(6, 6))
for angles in samples[rng.choice(len(samples), 60, replace=False)]:
    xy = joints(angles)
    ax.plot(xy[:, 0], xy[:, 1], "-", color="tab:blue", alpha=0.35, lw=1)
    ax.plot(xy[-1, 0], xy[-1, 1], ".", color="k", ms=3)
ax.plot(target.goals[:, 0], target.goals[:, 1], "rx", ms=10, mew=2)
ax.set_aspect("equal")
ax.set_xlim(-9, 9)
ax.set_ylim(-9, 9)
ax.set_title(f"60 arms sampled from q ({vi.n_components_} components)")
fig.tight_layout()
os.makedirs(args.out, exist_ok=True)
fig.savefig(os.path.join(args.out, "planar_robot.png"), dpi=90)
