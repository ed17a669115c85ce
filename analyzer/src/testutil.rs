//! Helpers shared by unit tests (the analyzer's and the binary's).

/// The phase report of strace `lines`, analyzed with the default pack.
pub fn analyze_lines(lines: &[&str], ctx: crate::Context) -> report::PhaseReport {
    let pack = crate::RulePack::embedded().expect("the default pack compiles");
    let mut a = crate::Analyzer::new(&pack, ctx);
    let mut p = tracer::strace::Parser::new();
    let file: std::sync::Arc<str> = std::sync::Arc::from("t.log");
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        p.feed(&file, i as u64 + 1, None, l.as_bytes(), &mut out);
    }
    p.finish(&file, lines.len() as u64, &mut out);
    for ev in &out {
        a.event(ev);
    }
    a.finish()
}
