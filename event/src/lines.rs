//! Reading input line by line in bounded memory: shared by the strace log
//! reader and the JSON Lines reader.

use std::io::{self, BufRead};

/// Lines longer than this are cut and reported, so one runaway line cannot
/// exhaust memory.
pub const MAX_LINE: usize = 16 << 20;

/// Reads one line into `buf` (without the newline). Returns None at end of
/// input, and Some(true) when the line was longer than `MAX_LINE` and cut.
pub fn read_line(r: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let mut overlong = false;
    let mut any = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(any.then_some(overlong));
        }
        any = true;
        let (chunk, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], Some(i + 1)),
            None => (avail, None),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        if chunk.len() > room {
            overlong = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(avail.len());
        r.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(overlong));
        }
    }
}
