"""Target densities for :class:`~skgmmvi.VariationalGMMTarget`."""

from ._base import Target

__all__ = ["Target"]
