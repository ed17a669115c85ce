//! Reading strace's printed values: quoted strings, integers, flag sets,
//! fd decorations (`3</etc/passwd>`), arrays and structs.
//!
//! Everything here works on byte slices of one line and never panics, so a
//! mangled argument becomes a missing value, not a lost event. Splitting an
//! argument list is the one subtle part: strings may hold any delimiter,
//! decorations may hold `,`, `(` and `->`, and `-X verbose` adds comments.

use memchr::memchr2;

use event::{Fd, SockAddr};

/// Bytes `split_top` must look at: at top level (`TOP`) and inside
/// brackets (`NESTED`, where a comma separates nothing). Everything else is
/// skipped by a tight loop over the table: most of a line is names, numbers
/// and paths, and a `match` on every byte cost more than all the rest of
/// splitting.
const fn class_table(comma: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let special = b"\"<(/[{)]}";
    let mut k = 0;
    while k < special.len() {
        t[special[k] as usize] = true;
        k += 1;
    }
    t[b',' as usize] = comma;
    t
}
static TOP: [bool; 256] = class_table(true);
static NESTED: [bool; 256] = class_table(false);

/// Splits `a, b, {c, d}, "e,f"` at top-level commas. Stops at an unmatched
/// `)` (the end of an argument list). Returns the pieces, trimmed, and the
/// index just past where the scan stopped.
pub fn split_top(s: &[u8]) -> (Vec<&[u8]>, usize) {
    let (out, at, _) = split_top_first(s, usize::MAX);
    (out, at)
}

/// [`split_top`], stopping after the first `limit` pieces. Returns the
/// pieces, the index where the scan stopped (just past the `limit`-th
/// piece's comma, or at the end of the list), and whether it stopped
/// early: more of the list follows.
pub fn split_top_first(s: &[u8], limit: usize) -> (Vec<&[u8]>, usize, bool) {
    let mut out = Vec::with_capacity(6);
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    loop {
        let table = if depth == 0 { &TOP } else { &NESTED };
        while i < s.len() && !table[s[i] as usize] {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        match s[i] {
            b'"' => i = skip_string(s, i),
            b'<' if i > 0 && s[i - 1].is_ascii_alphanumeric() => i = skip_decoration(s, i),
            b'/' if s.get(i + 1) == Some(&b'*') => i = skip_comment(s, i),
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                if depth == 0 {
                    push_piece(&mut out, &s[start..i]);
                    return (out, i, false);
                }
                depth -= 1;
                i += 1;
            }
            b',' if depth == 0 => {
                push_piece(&mut out, &s[start..i]);
                i += 1;
                start = i;
                if out.len() >= limit {
                    return (out, i, true);
                }
            }
            _ => i += 1,
        }
    }
    push_piece(&mut out, &s[start..]);
    (out, s.len(), false)
}

fn push_piece<'a>(out: &mut Vec<&'a [u8]>, piece: &'a [u8]) {
    let piece = piece.trim_ascii();
    if !piece.is_empty() || !out.is_empty() {
        out.push(piece);
    }
}

/// Index just past the string starting at `s[i] == '"'` (or the end).
pub fn skip_string(s: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while let Some(off) = memchr2(b'"', b'\\', &s[j.min(s.len())..]) {
        let at = j + off;
        if s[at] == b'\\' {
            j = at + 2;
            if j >= s.len() {
                return s.len();
            }
        } else {
            return at + 1;
        }
    }
    s.len()
}

/// Index just past the decoration starting at `s[i] == '<'`. Decorations nest
/// (`1</dev/null<char 1:3>>`) and socket ones hold `->` inside brackets
/// (`<TCP:[1.2.3.4:5->6.7.8.9:10]>`); strace escapes `<` and `>` in paths.
pub fn skip_decoration(s: &[u8], i: usize) -> usize {
    let mut nest = 0usize;
    let mut bracket = 0usize;
    let mut j = i;
    loop {
        if j >= s.len() {
            return s.len();
        }
        // The next byte that matters: a path is skipped by two vector
        // searches (the second only up to where the first stopped) instead
        // of byte by byte.
        let stop = memchr::memchr3(b'>', b'<', b'\\', &s[j..]).map_or(s.len(), |o| j + o);
        j = memchr::memchr3(b'[', b']', b'"', &s[j..stop]).map_or(stop, |o| j + o);
        if j >= s.len() {
            return s.len();
        }
        match s[j] {
            b'\\' => j += 1,
            b'"' if bracket > 0 => {
                j = skip_string(s, j);
                continue;
            }
            b'[' => bracket += 1,
            b']' => bracket = bracket.saturating_sub(1),
            b'<' if bracket == 0 => nest += 1,
            b'>' if bracket == 0 => {
                nest -= 1;
                if nest == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
}

fn skip_comment(s: &[u8], i: usize) -> usize {
    match memchr::memmem::find(&s[i + 2..], b"*/") {
        Some(off) => i + 2 + off + 2,
        None => s.len(),
    }
}

/// Drops a trailing `-X verbose` comment: `0x2 /* O_RDWR */` → `0x2`, and
/// returns the comment text, if any, as a second value.
pub fn strip_comment(v: &[u8]) -> (&[u8], Option<&[u8]>) {
    // Looked for by its `*` (rare in values; paths are full of `/`).
    let found = memchr::memchr_iter(b'*', v).find(|&at| at > 0 && v[at - 1] == b'/').map(|at| at - 1);
    if let Some(pos) = found {
        let comment = v[pos + 2..].strip_suffix(b"*/").unwrap_or(&v[pos + 2..]);
        (v[..pos].trim_ascii(), Some(comment.trim_ascii()))
    } else {
        (v, None)
    }
}

/// A quoted string: `"abc"`, `"abc"...` (cut at `-s`), `NULL` → None.
/// Returns the unescaped bytes and whether strace cut the string short.
pub fn string(v: &[u8]) -> Option<(Vec<u8>, bool)> {
    let v = v.trim_ascii();
    // `-yy` may prefix a pointer-to-path with `@` for abstract sockets:
    let v = v.strip_prefix(b"@").unwrap_or(v);
    if v.first() != Some(&b'"') {
        return None;
    }
    let end = skip_string(v, 0);
    if end < 2 || v[end - 1] != b'"' {
        // An unterminated string: take what is there, marked as cut.
        return Some((unescape(&v[1..]), true));
    }
    let truncated = v[end..].starts_with(b"...");
    Some((unescape(&v[1..end - 1]), truncated))
}

/// Undoes strace's string escaping: `\n \t \v \f \r \" \\`, octal `\0`..`\377`
/// (one to three digits), hex `\xHH` (`-x`, `-xx`).
pub fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let Some(off) = memchr::memchr(b'\\', &s[i..]) else {
            out.extend_from_slice(&s[i..]);
            break;
        };
        out.extend_from_slice(&s[i..i + off]);
        i += off + 1;
        let Some(&c) = s.get(i) else { break };
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'r' => out.push(b'\r'),
            b'x' => {
                let hex = s.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'x'),
                }
            }
            b'0'..=b'7' => {
                let mut val = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 {
                    match s.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            val = val * 8 + u32::from(d - b'0');
                            i += 1;
                            n += 1;
                        }
                        _ => break,
                    }
                }
                out.push(val as u8);
            }
            other => out.push(other),
        }
    }
    out
}

/// An integer as strace prints it: decimal, negative, `0x` hex, `0` octal,
/// possibly followed by a `-X verbose` comment or a decoration.
pub fn int(v: &[u8]) -> Option<i64> {
    let v = v.trim_ascii();
    // Most values are plain decimals (a return value, an fd): read
    // directly, without a look for comments and decorations.
    if let Some(n) = plain_decimal(v) {
        return Some(n);
    }
    let (v, _) = strip_comment(v);
    let v = match memchr::memchr(b'<', v) {
        Some(p) => &v[..p],
        None => v,
    };
    let (neg, digits) = match v.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let text = std::str::from_utf8(digits).ok()?;
    let n = if let Some(hex) = text.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()? as i64
    } else if text.len() > 1 && text.starts_with('0') {
        i64::from_str_radix(&text[1..], 8).ok()?
    } else {
        text.parse::<i64>().ok()?
    };
    Some(if neg { -n } else { n })
}

/// `-?[1-9][0-9]*` or `0`, up to 18 digits (no overflow); None for
/// anything else, which [`int`] reads the long way. (`line::atoi`'s digit
/// loop is the same; one shared loop cost 1.4% of the parse, in inlining.)
fn plain_decimal(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, v),
    };
    let first = *digits.first()?;
    if digits.len() > 18 || (first == b'0' && digits.len() > 1) {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(if neg { -n } else { n })
}

/// A file descriptor argument with its optional `-y` decoration.
pub fn fd(v: &[u8]) -> Option<Fd> {
    let v = v.trim_ascii();
    let (num_part, decor) = match memchr::memchr(b'<', v) {
        Some(p) => (&v[..p], Some(decoration_text(&v[p..]))),
        None => (v, None),
    };
    let num = int(num_part)?;
    Some(Fd { num: num as i32, path: decor.map(|d| d.into()) })
}

/// The fd number strace prints as `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;

/// A dirfd argument: `AT_FDCWD` (in any `-X` style) is None, unless `-y`
/// decorated it with the current directory (`AT_FDCWD</home/u>`): then it is
/// an [`Fd`] numbered [`AT_FDCWD`] whose path is that directory.
pub fn dirfd(v: &[u8]) -> Option<Fd> {
    let (bare, comment) = strip_comment(v.trim_ascii());
    if let Some(decor) = bare.strip_prefix(b"AT_FDCWD").filter(|d| d.starts_with(b"<")) {
        return Some(Fd { num: AT_FDCWD, path: Some(decoration_text(decor).into()) });
    }
    if bare == b"AT_FDCWD" || comment == Some(b"AT_FDCWD") {
        return None;
    }
    let fd = fd(bare)?;
    // -X raw prints AT_FDCWD as -100 or as its 32-bit pattern.
    if (fd.num == AT_FDCWD && fd.path.is_none()) || bare == b"0xffffff9c" {
        return None;
    }
    Some(fd)
}

/// The unescaped inside of a decoration `<...>` (outer brackets removed).
pub fn decoration_text(v: &[u8]) -> Vec<u8> {
    if v.is_empty() {
        return Vec::new();
    }
    // A decoration cut out of its argument ends the argument: its last
    // `>` closes it (strace escapes `<` and `>` in paths, and nested ones
    // close first), with no second walk through the path.
    let end = if v.len() >= 2 && v.ends_with(b">") { v.len() } else { skip_decoration(v, 0) };
    let mut inner = &v[1..end.saturating_sub(1).max(1)];
    // A nested decoration (`/dev/null<char 1:3>`) describes the file, it is
    // not part of its path; a `<` inside a path is printed escaped.
    if !inner.contains(&b'[') {
        if let Some(p) = memchr::memchr(b'<', inner) {
            inner = &inner[..p];
        }
    }
    unescape(inner)
}

/// Does a flag set contain `name`? Works for `A|B|C` and ignores comments.
pub fn has_flag(v: &[u8], name: &[u8]) -> bool {
    v.split(|&c| c == b'|' || c == b' ' || c == b',' || c == b'{' || c == b'}' || c == b'=').any(|f| f == name)
}

/// The inside of `[...]` or `{...}`.
pub fn inner(v: &[u8]) -> Option<&[u8]> {
    let v = v.trim_ascii();
    let first = *v.first()?;
    let close = match first {
        b'[' => b']',
        b'{' => b'}',
        _ => return None,
    };
    let body = &v[1..];
    Some(match body.last() {
        Some(&c) if c == close => &body[..body.len() - 1],
        _ => body,
    })
}

/// An array of strings (`argv`): the strings, and whether it was cut short
/// (`...` as the last element, or a pointer printed instead of an array).
pub fn string_array(v: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let Some(body) = inner(v) else {
        return (Vec::new(), v.trim_ascii() != b"NULL");
    };
    let (items, _) = split_top(body);
    let mut out = Vec::with_capacity(items.len());
    let mut truncated = false;
    for item in items {
        match string(item) {
            Some((s, cut)) => {
                truncated |= cut;
                out.push(s);
            }
            None if item == b"..." => truncated = true,
            None => {}
        }
    }
    (out, truncated)
}

/// The value of `key=` inside a struct body at top level, e.g. `sin_port`.
pub fn field<'a>(body: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let (items, _) = split_top(body);
    items.into_iter().find_map(|item| {
        let rest = item.strip_prefix(key)?;
        rest.strip_prefix(b"=")
    })
}

/// A socket address struct `{sa_family=AF_INET, sin_port=htons(53), ...}`.
pub fn sockaddr(v: &[u8]) -> Option<SockAddr> {
    let body = inner(v)?;
    let family_raw = field(body, b"sa_family")?;
    let (bare, comment) = strip_comment(family_raw);
    let family: &[u8] = match comment {
        Some(c) if c.starts_with(b"AF_") => c,
        _ => bare,
    };
    let family = match family {
        b"AF_INET" | b"2" | b"0x2" => "inet",
        b"AF_INET6" | b"10" | b"0xa" => "inet6",
        b"AF_UNIX" | b"AF_LOCAL" | b"1" | b"0x1" => "unix",
        b"AF_NETLINK" | b"16" | b"0x10" => "netlink",
        other => {
            return Some(SockAddr::Other {
                name: event::bytes::lossy(other).into_owned(),
                raw: event::bytes::lossy(body).into_owned(),
            })
        }
    };
    match family {
        "inet" => {
            let port = port(field(body, b"sin_port")?)?;
            let raw = strip_comment(field(body, b"sin_addr")?).0;
            let ip = match call_arg(raw, b"inet_addr").and_then(string) {
                Some((text, _)) => event::bytes::lossy(&text).into_owned(),
                // -X raw: the four address bytes as a string.
                None => {
                    let b: [u8; 4] = string(raw)?.0.try_into().ok()?;
                    std::net::Ipv4Addr::from(b).to_string()
                }
            };
            Some(SockAddr::Inet { ip, port })
        }
        "inet6" => {
            let port = port(field(body, b"sin6_port")?)?;
            let ip = match inet_pton(body) {
                Some(ip) => ip,
                None => {
                    let raw = strip_comment(field(body, b"sin6_addr")?).0;
                    let b: [u8; 16] = string(raw)?.0.try_into().ok()?;
                    std::net::Ipv6Addr::from(b).to_string()
                }
            };
            Some(SockAddr::Inet6 { ip, port })
        }
        "unix" => {
            let raw = field(body, b"sun_path").unwrap_or(b"\"\"");
            let is_abstract = raw.starts_with(b"@");
            let path = string(raw).map(|s| s.0).unwrap_or_default();
            Some(SockAddr::Unix { path: path.into(), r#abstract: is_abstract })
        }
        _ => {
            let pid = field(body, b"nl_pid").and_then(int).unwrap_or(0);
            let groups = field(body, b"nl_groups").and_then(|g| {
                // nl_groups prints as zero-padded hex digits without 0x.
                let g = strip_comment(g).0;
                std::str::from_utf8(g).ok().and_then(|t| u32::from_str_radix(t.trim_start_matches("0x"), 16).ok())
            });
            Some(SockAddr::Netlink { pid: pid as u32, groups: groups.unwrap_or(0) })
        }
    }
}

/// A port: `htons(53)`, or (-X raw) its two bytes in network order.
fn port(v: &[u8]) -> Option<u16> {
    let v = strip_comment(v).0;
    match call_arg(v, b"htons") {
        Some(n) => int(n).and_then(|p| u16::try_from(p).ok()),
        None => {
            let b: [u8; 2] = string(v)?.0.try_into().ok()?;
            Some(u16::from_be_bytes(b))
        }
    }
}

/// `inet_pton(AF_INET6, "::1", &sin6_addr)` somewhere in a struct body.
fn inet_pton(body: &[u8]) -> Option<String> {
    let pos = memchr::memmem::find(body, b"inet_pton(")?;
    let (args, _) = split_top(&body[pos + b"inet_pton(".len()..]);
    let (ip, _) = string(args.get(1)?)?;
    Some(event::bytes::lossy(&ip).into_owned())
}

/// The argument of a printed call such as `htons(53)`.
fn call_arg<'a>(v: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let rest = v.trim_ascii().strip_prefix(name)?.strip_prefix(b"(")?;
    let (args, _) = split_top(rest);
    args.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_is_found_by_its_star_not_by_the_slashes_of_a_path() {
        assert_eq!(strip_comment(b"0x2 /* O_RDWR */"), (&b"0x2"[..], Some(&b"O_RDWR"[..])));
        assert_eq!(strip_comment(b"AT_FDCWD</a/b/c>"), (&b"AT_FDCWD</a/b/c>"[..], None));
        assert_eq!(strip_comment(b"3</a*b/c> /* x */"), (&b"3</a*b/c>"[..], Some(&b"x"[..])));
        assert_eq!(strip_comment(b"*/"), (&b"*/"[..], None));
    }

    #[test]
    fn splitting_the_first_pieces_says_where_it_stopped() {
        let s = br#"AT_FDCWD</w>, "/a,b", 0, {x=1, y=2}) = 0"#;
        let (first, at, more) = split_top_first(s, 2);
        assert_eq!(first, [&b"AT_FDCWD</w>"[..], &br#""/a,b""#[..]]);
        assert!(more);
        assert_eq!(&s[at..at + 2], b" 0");
        let (all, end, more) = split_top_first(s, 9);
        assert_eq!((all.len(), &s[end..end + 1], more), (4, &b")"[..], false));
        assert_eq!(split_top(s), (all, end));
    }

    #[test]
    fn splits_at_top_level_only() {
        let (parts, end) = split_top(br#"AT_FDCWD, "/a,b(c", {x=1, y=[2, 3]}, 3</p,q>) = 0"#);
        assert_eq!(parts, vec![&b"AT_FDCWD"[..], br#""/a,b(c""#, b"{x=1, y=[2, 3]}", b"3</p,q>"]);
        assert_eq!(end, 44);
    }

    #[test]
    fn decorations_with_arrows_and_nesting() {
        let s = b"5<TCP:[127.0.0.1:40000->1.2.3.4:443]>, 1</dev/null<char 1:3>>";
        let (parts, _) = split_top(s);
        assert_eq!(parts.len(), 2);
        let f = fd(parts[0]).unwrap();
        assert_eq!(f.num, 5);
        assert_eq!(f.path.unwrap().as_slice(), b"TCP:[127.0.0.1:40000->1.2.3.4:443]");
        assert_eq!(fd(parts[1]).unwrap().path.unwrap().as_slice(), b"/dev/null");
        assert_eq!(fd(br"3</tmp/a\74b>").unwrap().path.unwrap().as_slice(), b"/tmp/a<b");
        // A decoration ending its argument is closed by the last `>`; one
        // followed by more is walked.
        assert_eq!(decoration_text(b"</dev/null<char 1:3>>"), b"/dev/null");
        assert_eq!(decoration_text(b"</a> /* x */"), b"/a");
        assert_eq!(decoration_text(b"<socket:[7]>"), b"socket:[7]");
        assert_eq!(decoration_text(b"<"), b"");
    }

    #[test]
    fn unescapes_like_strace_prints() {
        assert_eq!(unescape(br#"a\tb\n\"\\"#), b"a\tb\n\"\\");
        assert_eq!(unescape(br"\0000"), b"\x000");
        assert_eq!(unescape(br"\7example\3org\0"), b"\x07example\x03org\x00");
        assert_eq!(unescape(br"\x2f\x65\xff"), b"/e\xff");
        assert_eq!(unescape(br"\377\1"), b"\xff\x01");
    }

    #[test]
    fn strings_report_truncation() {
        assert_eq!(string(br#""abc"..."#), Some((b"abc".to_vec(), true)));
        assert_eq!(string(br#""abc""#), Some((b"abc".to_vec(), false)));
        assert_eq!(string(b"NULL"), None);
        assert_eq!(string(br#""unterminated"#), Some((b"unterminated".to_vec(), true)));
    }

    #[test]
    fn integers_in_every_style() {
        assert_eq!(int(b"42"), Some(42));
        assert_eq!(int(b"-1"), Some(-1));
        assert_eq!(int(b"0x1f"), Some(31));
        assert_eq!(int(b"0755"), Some(0o755));
        assert_eq!(int(b"0"), Some(0));
        assert_eq!(int(b"0x2 /* O_RDWR */"), Some(2));
        assert_eq!(int(b"3</etc/passwd>"), Some(3));
        assert_eq!(int(b"O_RDONLY"), None);
        // Past the plain-decimal shortcut: 18 digits and more, leading
        // zeros, a sign, blanks.
        assert_eq!(int(b"123456789012345678"), Some(123_456_789_012_345_678));
        assert_eq!(int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(int(b"-9223372036854775808"), None, "as before: the magnitude does not fit");
        assert_eq!(int(b"99999999999999999999"), None);
        assert_eq!(int(b"-0"), Some(0));
        assert_eq!(int(b"-010"), Some(-8));
        assert_eq!(int(b" 17 "), Some(17));
        assert_eq!(int(b"+5"), Some(5));
        assert_eq!(int(b"-"), None);
        assert_eq!(int(b""), None);
        assert_eq!(int(b"12a"), None);
    }

    #[test]
    fn dirfd_forms() {
        assert_eq!(dirfd(b"AT_FDCWD"), None);
        assert_eq!(dirfd(b"-100"), None);
        assert_eq!(dirfd(b"0xffffff9c /* AT_FDCWD */"), None);
        assert_eq!(dirfd(b"-100 /* AT_FDCWD */"), None);
        assert_eq!(dirfd(b"7</home/u>").unwrap().num, 7);
        let cwd = dirfd(b"AT_FDCWD</home/u/a, b>").unwrap();
        assert_eq!((cwd.num, cwd.path.unwrap().as_slice()), (AT_FDCWD, &b"/home/u/a, b"[..]));
        assert_eq!(split_top(b"AT_FDCWD</a,b>, \"x\"").0.len(), 2);
    }

    #[test]
    fn sockaddrs() {
        let v4 = sockaddr(br#"{sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}"#);
        assert_eq!(v4, Some(SockAddr::Inet { ip: "127.0.0.53".into(), port: 53 }));
        let v6 = sockaddr(
            br#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}"#,
        );
        assert_eq!(v6, Some(SockAddr::Inet6 { ip: "::1".into(), port: 443 }));
        let un = sockaddr(br#"{sa_family=AF_UNIX, sun_path=@"/tmp/.X11-unix/X0"}"#).unwrap();
        assert_eq!(un, SockAddr::Unix { path: "/tmp/.X11-unix/X0".into(), r#abstract: true });
        let nl = sockaddr(b"{sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000010}").unwrap();
        assert_eq!(nl, SockAddr::Netlink { pid: 0, groups: 16 });
        let raw = sockaddr(br#"{sa_family=0x2 /* AF_INET */, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}"#);
        assert_eq!(raw, Some(SockAddr::Inet { ip: "1.2.3.4".into(), port: 80 }));
        let raw = sockaddr(br#"{sa_family=0x2, sin_port="\x00\x35", sin_addr="\x7f\x00\x00\x01"}"#);
        assert_eq!(raw, Some(SockAddr::Inet { ip: "127.0.0.1".into(), port: 53 }));
        let verbose = sockaddr(
            br#"{sa_family=0x2 /* AF_INET */, sin_port="\x00\x35" /* htons(53) */, sin_addr="\x7f\x00\x00\x01" /* inet_addr("127.0.0.1") */}"#,
        );
        assert_eq!(verbose, Some(SockAddr::Inet { ip: "127.0.0.1".into(), port: 53 }));
    }

    #[test]
    fn argv_arrays() {
        let (argv, cut) = string_array(br#"["sh", "-c", "echo a, b"]"#);
        assert_eq!(argv, vec![b"sh".to_vec(), b"-c".to_vec(), b"echo a, b".to_vec()]);
        assert!(!cut);
        let (argv, cut) = string_array(br#"["node", "x"..., ...]"#);
        assert_eq!(argv.len(), 2);
        assert!(cut);
    }

    #[test]
    fn never_panics_on_fragments() {
        for s in [&b""[..], b"<", b"\"", b"\\", b"3<", b"{", b"[\"", b"/*", b"0x", b"-", b"\"\\x", b"\"\\"] {
            let _ = split_top(s);
            let _ = string(s);
            let _ = fd(s);
            let _ = sockaddr(s);
            let _ = string_array(s);
            let _ = unescape(s);
            let _ = decoration_text(s);
        }
    }
}
