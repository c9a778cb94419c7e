"""The package version, in a module of its own so any layer may read it.

``clusterfolio/__init__.py`` re-exports it; importing the root package instead would pull in
the lazy Python API (:mod:`clusterfolio.api`, the top layer) as far as the import graph goes.
"""

__version__ = "0.1.0"
