//! A diff as text (a terminal, a CI log) and as markdown (a pull-request
//! comment). JSON is the [`crate::Diff`]'s serde form.

use std::fmt::Write as _;

use crate::compare::{Change, Diff, Kind, Sign};
use crate::Summary;

fn mark(c: &Change) -> &'static str {
    match c.sign {
        Sign::Added => "+",
        Sign::Removed => "-",
        Sign::Changed if c.news => "+",
        Sign::Changed => "-",
    }
}

/// One line of a change: `+ high  finding  dns-encoded-label: x.example`.
fn line(c: &Change) -> String {
    let what = match c.kind {
        Kind::Finding => match &c.was {
            Some(was) => format!("{} (was {was})", c.text),
            None => c.text.clone(),
        },
        _ => c.text.clone(),
    };
    format!("{} {:<10} {}", mark(c), c.kind.as_str(), what)
}

fn title(d: &Diff) -> String {
    match &d.old {
        Some(old) => format!("{old} → {}", d.new),
        None => format!("(new) {}", d.new),
    }
}

/// Text: a heading per package, `+`/`-` lines per phase, most severe first.
/// The summary line is the caller's (one for all the diffs).
pub fn text(d: &Diff) -> String {
    let mut out = format!("{}\n", title(d));
    if d.is_empty() {
        out.push_str("  no behaviour change\n");
    }
    for p in &d.phases {
        let _ = writeln!(out, "  {}", p.phase);
        for c in &p.changes {
            let _ = writeln!(out, "    {}", line(c));
        }
    }
    out
}

/// Markdown for a pull-request comment: the summary in bold, then per
/// package and phase a `diff` block (rendered red and green).
pub fn markdown(diffs: &[Diff], summary: &Summary) -> String {
    let mut out = format!("### pkgtrace diff\n\n**{summary}**\n");
    for d in diffs {
        let _ = write!(out, "\n#### `{}`\n\n", title(d));
        if d.is_empty() {
            out.push_str("No behaviour change.\n");
            continue;
        }
        for p in &d.phases {
            let _ = writeln!(out, "{}:\n\n```diff", p.phase);
            for c in &p.changes {
                let _ = writeln!(out, "{}", line(c).replace("```", "` ` `"));
            }
            out.push_str("```\n\n");
        }
    }
    out
}
