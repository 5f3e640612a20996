"""Installation script for skgmmvi."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
DOCS = ["sphinx>=7", "numpydoc>=1.6", "sphinx-gallery>=0.16", "matplotlib"]

setup(
    name="skgmmvi",
    version="0.1.0",
    description=(
        "Gaussian mixture models with the scikit-learn API on TensorFlow: EM, "
        "gradient maximum likelihood and natural-gradient variational inference"
    ),
    long_description=(HERE / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    packages=find_packages(include=["skgmmvi", "skgmmvi.*"]),
    # the S&P 500 data and published moments of StochasticVolatilityPosterior
    package_data={"skgmmvi.targets": ["data/*.txt"]},
    python_requires=">=3.10",
    install_requires=[
        "numpy",
        "scipy",
        "scikit-learn>=1.6",
        "tensorflow>=2.16",
    ],
    extras_require={
        # The test suite builds the documentation too (tests/test_docs.py).
        "test": ["pytest", "pandas", "hypothesis"] + DOCS,
        "plot": ["matplotlib"],
        "docs": DOCS,
    },
    entry_points={"console_scripts": ["skgmmvi=skgmmvi.__main__:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
