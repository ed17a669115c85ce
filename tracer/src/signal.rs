//! Signal names as strace prints them, so a [`Kill`](crate::EventKind::Kill)
//! says `SIGTERM` whichever source produced it: the strace parser (which may
//! read `-X raw` numbers or `-X verbose` comments) and the live tracer
//! (which has only the number).
//!
//! The numbering is the kernel's generic one, which x86_64 and aarch64
//! share. Signal 0 is `"0"`: it delivers nothing, a sender uses it to ask
//! whether a process exists. Real-time signals follow strace: 32 is
//! `SIGRTMIN`, 33 `SIGRT_1`, ... 64 `SIGRT_32`.

const NAMES: [&str; 32] = [
    "0",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The name of signal number `sig`; a number with no name stays a number.
pub fn name(sig: i64) -> String {
    match sig {
        0..=31 => NAMES[sig as usize].to_string(),
        32 => "SIGRTMIN".to_string(),
        33..=64 => format!("SIGRT_{}", sig - 32),
        other => other.to_string(),
    }
}

/// A signal argument as strace printed it (`SIGTERM`, `0`, `0xf` with
/// `-X raw`, `0xf /* SIGTERM */` with `-X verbose`), named as [`name`] does.
pub fn from_strace(text: &[u8]) -> String {
    let (bare, comment) = crate::strace::value::strip_comment(text.trim_ascii());
    if let Some(c) = comment.filter(|c| c.starts_with(b"SIG")) {
        return String::from_utf8_lossy(c).into_owned();
    }
    if let Some(n) = crate::strace::value::int(bare) {
        return name(n);
    }
    match bare {
        // Older strace names signal 0 from its table.
        b"SIG_0" => "0".to_string(),
        other => String::from_utf8_lossy(other).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_strace() {
        assert_eq!(name(15), "SIGTERM");
        assert_eq!(name(0), "0");
        assert_eq!(name(32), "SIGRTMIN");
        assert_eq!(name(34), "SIGRT_2");
        assert_eq!(name(99), "99");
        assert_eq!(from_strace(b"SIGKILL"), "SIGKILL");
        assert_eq!(from_strace(b"0"), "0");
        assert_eq!(from_strace(b"SIG_0"), "0");
        assert_eq!(from_strace(b"0x9"), "SIGKILL");
        assert_eq!(from_strace(b"0xf /* SIGTERM */"), "SIGTERM");
        assert_eq!(from_strace(b"SIGRT_3"), "SIGRT_3");
    }
}
