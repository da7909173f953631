"""Numerical building blocks, free of the paper's objects.

- :mod:`~market.numerics.chebyshev`: adaptive piecewise Chebyshev interpolation, cubic Hermite
  tables, Gauss-Legendre nodes;
- :mod:`~market.numerics.integrate`: the one integral over types (:func:`expect`), exact for
  densities infinite at an end;
- :mod:`~market.numerics.optimize`: the one 1-D maximiser (:func:`maximize`) and a vectorised
  golden-section search;
- :mod:`~market.numerics.normal`: normal masses and quantiles in log space, a bracketed Newton
  iteration.
"""
