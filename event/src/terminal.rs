//! Text from a traced package made safe to print on a terminal.
//!
//! Everything a report shows about a package came from the package: argv,
//! paths, DNS names, hosts, payload previews, output tails, socket names.
//! Printed raw, an escape sequence in any of them can clear or rewrite the
//! user's screen, retitle the window or, on some terminals, answer back;
//! a bidi override can make `evil.sh` read as `hs.live`; a newline can add
//! a line that looks like pkgtrace's own. [`esc`] renders all of those
//! visibly, and every place that prints package text to a terminal (the
//! text report, `--follow`, error lines) goes through it.

use std::borrow::Cow;
use std::fmt;

/// Does `c` need escaping: C0 controls (newline, tab and ESC included),
/// DEL, C1 controls (U+0080–U+009F, which some terminals take as CSI and
/// friends), and the invisible characters that reorder or break text: bidi
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069),
/// directional marks (U+200E, U+200F, U+061C) and line/paragraph separators
/// (U+2028, U+2029).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` with every character [`needs_escape`] names written visibly:
/// `\n`, `\r`, `\t`, `\x1b` for the other ASCII controls, `\u{9b}` and
/// `\u{202e}` for the rest. Borrowed when there is nothing to escape, which
/// is nearly always. A backslash is left alone: `\x1b` in the output is
/// either an escaped ESC or the four characters a package wrote, never a
/// raw ESC.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if !needs_escape(c) => out.push(c),
        c if c.is_ascii() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// [`escape`] as a `Display` value, for use inside `format!`:
/// `format!("{} ran", esc(&argv0))`.
pub fn esc<S: AsRef<str> + ?Sized>(s: &S) -> Esc<'_> {
    Esc(s.as_ref())
}

/// See [`esc`].
pub struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_visible() {
        assert_eq!(escape("\x1b[2Jclear"), "\\x1b[2Jclear");
        assert_eq!(escape("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(escape("\x00\x07\x7f"), "\\x00\\x07\\x7f");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("invoice\u{202e}fdp.sh"), "invoice\\u{202e}fdp.sh");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(format!("[{}]", esc("\x1b]0;title\x07")), "[\\x1b]0;title\\x07]");
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in ["/home/u/.npmrc", "node → sh → curl", "résumé ✓ 日本", "C:\\x1b literally"] {
            assert!(matches!(escape(s), Cow::Borrowed(b) if b == s));
        }
    }
}
