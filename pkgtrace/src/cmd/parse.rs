//! `pkgtrace parse`: logs re-encoded as one event stream (JSON Lines) on
//! stdout, which `pkgtrace analyze` reads back.

use std::io;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use tracer::jsonl::EventsWriter;
use tracer::source::{discover, EventSource};
use tracer::strace::ParseStats;

use super::shared::say_cut;
use crate::exit::Exit;
use event::terminal::esc;

#[derive(Args)]
pub struct ParseArgs {
    /// strace logs (plain, .gz, .zst) or directories of -ff files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn parse(args: ParseArgs) -> Result<i32> {
    let stdout = io::stdout();
    let mut w = EventsWriter::new(io::BufWriter::with_capacity(1 << 16, stdout.lock()));
    let mut total = ParseStats::default();
    let mut errors = 0;
    for path in &args.paths {
        let inputs = match discover(path) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("pkgtrace: {}", esc(&e.to_string()));
                errors += 1;
                continue;
            }
        };
        for input in inputs {
            let mut source = EventSource::open(&input)?;
            while let Some(ev) = source.next_event()? {
                w.write(&ev)?;
            }
            // The trailer's stats keep the cuts, so analyzing the stream
            // says so too.
            let s = source.stats();
            errors += say_cut(&s.cut, "stream");
            total.add(&s);
        }
    }
    w.finish(&total)?;
    Ok(if errors > 0 { Exit::Usage.code() } else { Exit::Clean.code() })
}
