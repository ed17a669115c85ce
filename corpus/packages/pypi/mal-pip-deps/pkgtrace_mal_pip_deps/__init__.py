# MALICIOUS TEST PACKAGE (pkgtrace corpus). Nothing happens at import.
VERSION = "1.0.0"
