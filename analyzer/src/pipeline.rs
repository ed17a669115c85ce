//! The one pipeline every command uses: a **source** thread produces
//! batches of events, a bounded channel carries them, the [`Analyzer`] on
//! the calling thread consumes them. A slow analyzer slows the source
//! instead of growing memory.
//!
//! Sources: a log or recorded stream ([`run_input`]), the live tracer
//! (`pkgtrace trace`), a sandboxed phase (`pkgtrace run`).

use std::borrow::BorrowMut;
use std::thread;

use anyhow::{Context as _, Result};
use crossbeam_channel::Sender;
use event::{Event, Outcome, ParseStats};
use tracer::source::{EventSource, Input};

use crate::analysis::Analyzer;

/// Events per batch sent by a reading source.
const BATCH: usize = 1024;
/// Batches in flight between a reading source and the analyzer.
const READ_BATCHES: usize = 16;
/// Batches in flight between the live tracer and the analyzer.
pub const LIVE_BATCHES: usize = 64;

/// Runs `source` on a thread named `name`, sending batches of events into
/// a channel of `capacity` batches, and feeds every event to `analyzer`,
/// then to `each` (to record it, to show findings as they come).
/// Returns what the source returned. The source should stop when a send
/// fails (the consumer gave up).
pub fn pipeline<'p, T: Send>(
    analyzer: &mut Analyzer<'p>,
    name: &str,
    capacity: usize,
    source: impl FnOnce(Sender<Vec<Event>>) -> T + Send,
    each: impl FnMut(&Event, &Analyzer<'p>) -> Result<()>,
) -> Result<T> {
    pipeline_started_first(name, capacity, source, || Ok(analyzer), each).map(|(t, _)| t)
}

/// [`pipeline`], with the analyzer made by `make` once the source is
/// already running: what `make` costs (compiling the rule pack, some 20
/// ms) overlaps with the source's start instead of delaying it. Returns
/// the analyzer too.
pub fn pipeline_started_first<'p, A: BorrowMut<Analyzer<'p>>, T: Send>(
    name: &str,
    capacity: usize,
    source: impl FnOnce(Sender<Vec<Event>>) -> T + Send,
    make: impl FnOnce() -> Result<A>,
    mut each: impl FnMut(&Event, &Analyzer<'p>) -> Result<()>,
) -> Result<(T, A)> {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Event>>(capacity);
    thread::scope(|scope| {
        let producer = thread::Builder::new()
            .name(name.into())
            .spawn_scoped(scope, move || source(tx))
            .with_context(|| format!("failed to start the {name} thread"))?;
        // On an error the receiver is dropped: the source's sends fail and
        // it stops; the scope waits for it.
        let mut analyzer = make()?;
        // By reference: moving each event out of its batch copied it
        // whole (a few hundred bytes), a measurable share of the analysis.
        for batch in rx.iter() {
            for ev in &batch {
                analyzer.borrow_mut().event(ev);
                each(ev, analyzer.borrow())?;
            }
        }
        let t = producer.join().map_err(|_| anyhow::anyhow!("the {name} thread panicked"))?;
        Ok((t, analyzer))
    })
}

/// Reads one input on its own thread and feeds its events to the analyzer.
/// Returns what reading found, and a live run's outcome when the input is
/// a stream recorded by `pkgtrace trace -o`.
pub fn run_input(input: &Input, analyzer: &mut Analyzer<'_>) -> Result<(ParseStats, Option<Outcome>)> {
    let mut source = EventSource::open(input)?;
    let read = move |tx: Sender<Vec<Event>>| -> Result<(ParseStats, Option<Outcome>)> {
        loop {
            let mut batch = Vec::with_capacity(BATCH);
            let more = source.fill(&mut batch, BATCH)?;
            if !batch.is_empty() && tx.send(batch).is_err() {
                break;
            }
            if !more {
                break;
            }
        }
        Ok((source.stats(), source.run()))
    };
    pipeline(analyzer, "reader", READ_BATCHES, read, |_, _| Ok(()))
        .and_then(|r| r)
        .with_context(|| format!("failed to analyze {}", input.display_name()))
}
