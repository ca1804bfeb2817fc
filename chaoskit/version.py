"""chaoskit's version: a leaf module, so that any layer can name it without importing the package.

Kept equal to ``version`` in pyproject.toml (a unit test checks); a constant
rather than ``importlib.metadata``, so that a source checkout that is not
installed (a bind-mounted runtime, ``python -m`` from the repository) knows it too.
"""

__version__ = "0.1.0"
