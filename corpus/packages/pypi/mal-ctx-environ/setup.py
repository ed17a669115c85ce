from setuptools import setup

setup(
    name="pkgtrace-test-mal-ctx-environ",
    version="1.0.0",
    description="pkgtrace test corpus: MALICIOUS - ctx-style: on import, sends os.environ base64-encoded in an HTTP GET",
    packages=["pkgtrace_mal_ctx_environ"],
)
