//! pkgtrace test corpus: the library itself is harmless; see build.rs.

/// What build.rs saw (bytes read / addresses resolved).
pub fn build_info() -> &'static str {
    env!("PKGTRACE_TEST_BUILD_INFO")
}
