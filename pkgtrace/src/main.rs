//! The `pkgtrace` binary: the command line ([`cli`]) and its subcommands
//! ([`cmd`]), its exit codes ([`exit`]), the text rendering of reports
//! ([`text`]) and the driver of sandboxed runs ([`run`]).

mod cli;
mod cmd;
mod exit;
mod run;
mod scan;
mod text;

/// The allocator. `analyze` allocates every event on the reader thread and
/// frees it on the analyzer thread; glibc's malloc pays dearly for that
/// hand-over (`_int_free`, `malloc_consolidate` and `_int_malloc` were ~15%
/// of the profile on real install logs), mimalloc's per-thread free lists
/// do not.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let code = cli::main();
    // Everything of ours was dropped (and flushed) on the way out of
    // `cli::main`. `std::process::exit` would run the C exit handlers,
    // where mimalloc frees and purges every heap page (a madvise per
    // region): work the kernel does anyway when the process ends.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit ends the process at once; nothing runs after it.
    #[allow(unsafe_code)]
    unsafe {
        libc::_exit(code)
    }
}
