//! Path arithmetic the analyzer needs: making a path absolute against a
//! process's cwd or a dirfd, and normalising it lexically (`.`, `..`, `//`),
//! without touching the filesystem — the log may come from another machine.

/// Joins `rel` onto `base` (when `rel` is relative) and normalises. A
/// relative path with no known base stays relative.
pub fn resolve(base: Option<&str>, rel: &str) -> String {
    if rel.starts_with('/') {
        return normalize(rel);
    }
    match base {
        Some(b) if b.starts_with('/') => {
            let mut joined = String::with_capacity(b.len() + rel.len() + 1);
            joined.push_str(b);
            joined.push('/');
            joined.push_str(rel);
            normalize(&joined)
        }
        _ => rel.to_string(),
    }
}

/// Lexical normalisation of an absolute path: no `.`, no `..`, no `//`,
/// no trailing `/`. Paths that are already normal are returned unchanged
/// without re-building them (the common case on the hot path).
pub fn normalize(p: &str) -> String {
    if is_normal(p) {
        return p.to_string();
    }
    let absolute = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    if absolute {
        format!("/{body}")
    } else if body.is_empty() {
        ".".to_string()
    } else {
        body
    }
}

/// Whether [`normalize`] would give `p` back as it is.
pub fn is_normal(p: &str) -> bool {
    let b = p.as_bytes();
    if !p.starts_with('/') || (b.len() > 1 && b[b.len() - 1] == b'/') {
        return false;
    }
    !(p.contains("//") || p.contains("/./") || p.contains("/../") || p.ends_with("/.") || p.ends_with("/.."))
}

/// Is `path` inside `dir` (or `dir` itself)?
pub fn is_within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/')) || dir.is_empty()
}

/// The last component of a path.
pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Rewrites `/proc/<pid>/...` to `/proc/self/...` when `<pid>` is one of
/// `own` (the process and its threads), and `/proc/thread-self` likewise, so
/// rules can tell a process reading its own environment from reading
/// another's.
pub fn proc_self(path: String, own: impl Fn(i32) -> bool) -> String {
    let Some(rest) = path.strip_prefix("/proc/") else { return path };
    let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let is_own = first == "thread-self" || first.parse::<i32>().is_ok_and(&own);
    if !is_own {
        return path;
    }
    if tail.is_empty() {
        "/proc/self".to_string()
    } else {
        format!("/proc/self/{tail}")
    }
}

/// Is `resolved` (the path the kernel reports for the opened fd) only
/// `raw`'s `/proc/self/...` or `/proc/thread-self/...` with the pid spelt
/// out? Then `raw` says better whose entry it is: inside a PID namespace
/// the number is the namespace's, which the tracer's pids never match.
/// (`/proc/self/fd/3` or `/proc/self/root/...` resolve elsewhere, and the
/// resolved path is the one that counts.)
pub fn is_proc_self_alias(raw: &str, resolved: &str) -> bool {
    fn first_and_rest(p: &str) -> (&str, &str) {
        p.split_once('/').unwrap_or((p, ""))
    }
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some((pid, tail)) = resolved.strip_prefix("/proc/").map(first_and_rest) else { return false };
    if !number(pid) {
        return false;
    }
    match raw.strip_prefix("/proc/").map(first_and_rest) {
        Some(("self", rest)) => tail == rest,
        Some(("thread-self", rest)) => {
            let Some(task) = tail.strip_prefix("task/") else { return false };
            let (tid, after) = first_and_rest(task);
            number(tid) && after == rest
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_and_normalises() {
        assert_eq!(resolve(Some("/home/u/p"), "../x/./y"), "/home/u/x/y");
        assert_eq!(resolve(Some("/"), "etc/passwd"), "/etc/passwd");
        assert_eq!(resolve(None, "a/b"), "a/b");
        assert_eq!(resolve(Some("/x"), "/etc//ssl/../passwd"), "/etc/passwd");
        assert_eq!(normalize("/../.."), "/");
        assert_eq!(normalize("/a/b/"), "/a/b");
        assert_eq!(normalize("/a/b"), "/a/b");
    }

    #[test]
    fn within_and_basename() {
        assert!(is_within("/home/u/p/x", "/home/u/p"));
        assert!(is_within("/home/u/p", "/home/u/p/"));
        assert!(!is_within("/home/u/px", "/home/u/p"));
        assert_eq!(basename("/usr/bin/node"), "node");
        assert_eq!(basename("node"), "node");
    }

    #[test]
    fn proc_self_spelt_with_a_pid_is_an_alias() {
        assert!(is_proc_self_alias("/proc/self/status", "/proc/5/status"));
        assert!(is_proc_self_alias("/proc/self", "/proc/5"));
        assert!(is_proc_self_alias("/proc/thread-self/status", "/proc/5/task/7/status"));
        assert!(!is_proc_self_alias("/proc/self/fd/3", "/etc/passwd"));
        assert!(!is_proc_self_alias("/proc/self/fd/3", "/proc/4242/status"));
        assert!(!is_proc_self_alias("/proc/4242/status", "/proc/4242/status"));
        assert!(!is_proc_self_alias("status", "/proc/5/status"));
    }

    #[test]
    fn proc_paths_of_the_own_process_become_self() {
        assert_eq!(proc_self("/proc/42/environ".into(), |p| p == 42), "/proc/self/environ");
        assert_eq!(proc_self("/proc/1/environ".into(), |p| p == 42), "/proc/1/environ");
        assert_eq!(proc_self("/proc/thread-self/status".into(), |_| false), "/proc/self/status");
        assert_eq!(proc_self("/etc/x".into(), |_| true), "/etc/x");
    }
}
