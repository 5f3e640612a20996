"""Command-line entry point: ``python -m skgmmvi demo [--out DIR]``.

The ``demo`` subcommand fits :class:`skgmmvi.EMGaussianMixture` and
:class:`sklearn.mixture.GaussianMixture` side by side, on synthetic 2-D data and
on the iris data set that scikit-learn ships, fits the synthetic data again with
:class:`skgmmvi.MLEGaussianMixture` (gradient maximum likelihood), fits
:class:`skgmmvi.VariationalGMMTarget` to a 6-mode density known only through its
log-density, prints what each learned and how long it took, and writes
``demo_density.png`` (fitted density contours) when matplotlib is installed.
Nothing is downloaded.
"""

import argparse
import sys

from ._demo import demo
from ._demo.plot import PNG_NAME


def build_parser():
    """The argument parser of the ``skgmmvi`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="skgmmvi",
        description="Gaussian mixture models with the scikit-learn API on TensorFlow.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    demo_parser = commands.add_parser(
        "demo", help="compare skgmmvi with scikit-learn, then fit by gradient ascent "
                     "and by variational inference",
        description="Fit skgmmvi.EMGaussianMixture and sklearn.mixture."
                    "GaussianMixture on synthetic 2-D data and on iris, the synthetic "
                    "data again with skgmmvi.MLEGaussianMixture, and a 6-mode density "
                    "known only by its log-density with skgmmvi.VariationalGMMTarget; "
                    f"print the results and write {PNG_NAME}.")
    demo_parser.add_argument(
        "--out", default=".", metavar="DIR",
        help=f"folder for {PNG_NAME} (default: the current folder; created if "
             "missing)")
    return parser


def main(argv=None):
    """Run the ``skgmmvi`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status.
    """
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return demo(args.out)
    return 2


if __name__ == "__main__":
    sys.exit(main())
