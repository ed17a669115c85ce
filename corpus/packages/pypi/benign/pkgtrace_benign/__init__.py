"""pkgtrace test corpus: benign. Importing it prints nothing and touches nothing."""

__version__ = "1.0.0"


def add(a, b):
    return a + b
