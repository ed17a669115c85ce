"""pkgtrace test corpus: harmless on import; the misbehaviour is in setup.py."""

__version__ = "1.0.0"
