"""Target densities for :class:`~skgmmvi.VariationalGMMTarget`."""

from ._base import Target
from .kde import KernelDensityTarget

__all__ = ["Target", "KernelDensityTarget"]
