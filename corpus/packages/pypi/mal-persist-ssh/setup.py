from setuptools import setup

setup(
    name="pkgtrace-test-mal-persist-ssh",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - on import, persists through shell rc files, a systemd user unit, cron, autostart and an SSH key",
    packages=["pkgtrace_mal_persist_ssh"],
)
