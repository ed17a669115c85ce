"""A developer script of the odd-layout project, not part of its distribution.

If the start phase ever imports this, it guessed the module from the
project's files instead of asking the installed distribution.
"""

raise SystemExit("odd_layout.py is a developer script, not an installed module")
