//! Runs a scan's items, `jobs` at a time, each as a child `pkgtrace run`
//! ([`super::child`]); records what each ended with; stops cleanly on an
//! interrupt.
//!
//! Resuming needs nothing of its own: each child stores and commits its
//! report as it finishes, and a scan started again skips what is stored
//! ([`super::plan`]). A failure is appended to `.pkgtrace/failures.jsonl`
//! ([`results::failures`]) for `--retry-failed`.
//!
//! On SIGINT or SIGTERM no new child starts, and the running ones are
//! SIGKILLed (their process groups). Not SIGTERM: a `run` that is asked to
//! stop ends its phases as "interrupted" and would store that partial
//! report, which a restart would then skip. A SIGKILLed run takes its
//! sandbox with it (the tracer's `PTRACE_O_EXITKILL` and the sandbox's
//! pid namespace), and a store it was in the middle of is completed or
//! discarded by the next store's recovery (`results::repo`): nothing half
//! written is ever seen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossbeam_channel::unbounded;

use super::child::{self, ChildArgs, Event};
use super::display::Display;
use super::inputs::Item;
use super::summary::Summary;
use results::failures::{self, Failure};
use results::Repo;

/// Runs `items` and adds what happened to `summary`.
pub fn run(items: &[Item], jobs: usize, args: &ChildArgs, repo: &Repo, summary: &mut Summary) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let jobs = jobs.max(1).min(items.len().max(1));
    let mut display = Display::new(items.len(), jobs);
    let known_failures = failures::load(&failures::path(repo));
    let (tx, rx) = unbounded();
    let mut next = 0;
    // job index -> (slot, pid)
    let mut running: HashMap<usize, (usize, Option<u32>)> = HashMap::new();
    let mut free: Vec<usize> = (0..jobs).rev().collect();
    let start = Instant::now();
    loop {
        while !stop.load(Ordering::SeqCst) && next < items.len() && !free.is_empty() {
            let slot = free.pop().expect("a free slot");
            let job = next;
            next += 1;
            display.started(slot, &items[job].input);
            running.insert(job, (slot, None));
            let (tx, args, input) = (tx.clone(), args.clone(), items[job].input.clone());
            std::thread::spawn(move || child::run(job, &input, &args, &tx));
        }
        if running.is_empty() {
            break;
        }
        if stop.load(Ordering::SeqCst) {
            kill_all(&running);
        }
        let Ok(event) = rx.recv_timeout(Duration::from_millis(100)) else { continue };
        match event {
            Event::Started { job, pid } => {
                if let Some(r) = running.get_mut(&job) {
                    r.1 = Some(pid);
                }
            }
            Event::Phase { job, phase } => {
                if let Some((slot, _)) = running.get(&job) {
                    display.phase(*slot, &phase);
                }
            }
            Event::Step { step, ms, .. } => summary.step(&step, ms),
            Event::Done { job, outcome } => {
                let Some((slot, _)) = running.remove(&job) else { continue };
                free.push(slot);
                if stop.load(Ordering::SeqCst) && !outcome.stored {
                    // Killed by us: neither a result nor a failure of the package.
                    summary.interrupted += 1;
                    continue;
                }
                summary.add(&outcome);
                display.finished(slot, &items[job].input, &outcome, summary.done, summary.flagged_total());
                let item = &items[job];
                let failure = outcome.failure.map(|r| r.as_str().to_string());
                if failure.is_some() || known_failures.contains_key(&item.input) {
                    let f = Failure {
                        input: item.input.clone(),
                        reason: failure,
                        detail: outcome.detail.clone(),
                        stored: outcome.stored,
                        at: results::store::now_rfc3339(),
                    };
                    if let Err(e) = repo.lock().and_then(|lock| failures::record(repo, &lock, &f)) {
                        display.message(&format!("pkgtrace: failed to record the failure of {}: {e:#}", item.input));
                    }
                }
            }
        }
    }
    summary.interrupted += items.len() - next;
    summary.wall += start.elapsed();
    display.finish();
    Ok(())
}

/// SIGKILLs every running child's process group (only the children this
/// scan started: each leads its own group).
fn kill_all(running: &HashMap<usize, (usize, Option<u32>)>) {
    for (_, pid) in running.values() {
        if let Some(pid) = pid {
            let _ =
                nix::sys::signal::killpg(nix::unistd::Pid::from_raw(*pid as i32), nix::sys::signal::Signal::SIGKILL);
        }
    }
}
