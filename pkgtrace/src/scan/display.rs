//! What a person watching a scan sees on stderr: on a terminal, an
//! overall bar (done/total, packages per hour, ETA, flagged) and one line
//! per job (package, phase, elapsed) with indicatif; elsewhere (CI, `|
//! tee`), one timestamped line per package started and finished.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::child::Outcome;
use super::summary::per_hour;
use event::terminal::esc;

pub struct Display {
    bars: Option<Bars>,
    start: Instant,
    total: usize,
}

struct Bars {
    _multi: MultiProgress,
    overall: ProgressBar,
    jobs: Vec<ProgressBar>,
    /// The package each job line shows.
    names: Vec<String>,
}

impl Display {
    pub fn new(total: usize, slots: usize) -> Display {
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            let overall = multi.add(ProgressBar::new(total as u64));
            overall.set_style(
                ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let style = ProgressStyle::with_template("  {prefix} {wide_msg} {elapsed:>4}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let jobs = (0..slots)
                .map(|i| {
                    let b = multi.add(ProgressBar::new_spinner());
                    b.set_style(style.clone());
                    b.set_prefix(format!("[{}]", i + 1));
                    b.set_message("idle");
                    b.enable_steady_tick(Duration::from_millis(500));
                    b
                })
                .collect();
            Bars { _multi: multi, overall, jobs, names: vec![String::new(); slots] }
        });
        Display { bars, start: Instant::now(), total }
    }

    pub fn started(&mut self, slot: usize, input: &str) {
        match &mut self.bars {
            Some(b) => {
                b.names[slot] = short(input);
                b.jobs[slot].reset_elapsed();
                b.jobs[slot].set_message(format!("{} fetch", b.names[slot]));
            }
            None => eprintln!("{} start {}", results::store::now_rfc3339(), esc(input)),
        }
    }

    pub fn phase(&mut self, slot: usize, phase: &str) {
        if let Some(b) = &mut self.bars {
            b.jobs[slot].set_message(format!("{} {phase}", b.names[slot]));
        }
    }

    pub fn finished(&mut self, slot: usize, input: &str, o: &Outcome, done: usize, flagged: usize) {
        let what = match (o.failure, o.findings) {
            (Some(r), _) => format!("failed: {}{}", r.as_str(), detail(&o.detail)),
            (None, 0) => "0 findings".to_string(),
            (None, n) => format!(
                "{n} finding{}, max {}",
                if n == 1 { "" } else { "s" },
                o.worst.map(|s| s.as_str()).unwrap_or("?")
            ),
        };
        let rate = per_hour(done, self.start.elapsed());
        match &mut self.bars {
            Some(b) => {
                b.overall.set_position(done as u64);
                let left = self.total.saturating_sub(done);
                let eta =
                    if rate > 0.0 { Duration::from_secs_f64(left as f64 * 3600.0 / rate) } else { Duration::ZERO };
                b.overall.set_message(format!("{rate:.0}/h, ETA {}, {flagged} flagged", clock(eta)));
                b.jobs[slot].set_message("idle");
                b.overall.println(format!("{} {what} ({:.1}s)", esc(&short(input)), o.wall.as_secs_f64()));
            }
            None => eprintln!(
                "{} done  {} [{done}/{}] {what} ({:.1}s, {rate:.0}/h)",
                results::store::now_rfc3339(),
                esc(input),
                self.total,
                o.wall.as_secs_f64()
            ),
        }
    }

    pub fn message(&self, text: &str) {
        match &self.bars {
            Some(b) => b.overall.println(text),
            None => eprintln!("{} {text}", results::store::now_rfc3339()),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bars {
            for j in &b.jobs {
                j.finish_and_clear();
            }
            b.overall.finish_and_clear();
        }
    }
}

fn detail(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(" ({})", esc(d))
    }
}

/// A local path as its last component (the line has room for little).
fn short(input: &str) -> String {
    if input.starts_with("pkg:") {
        input.to_string()
    } else {
        std::path::Path::new(input).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(input.into())
    }
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
