"""pkgtrace test corpus: odd-layout. Importing it prints nothing and touches nothing."""

__version__ = "1.0.0"


def ping():
    return "pong"
