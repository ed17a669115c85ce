//! Reading logs recorded with strace.
//!
//! - [`line`] splits one line into its prefix (pid, time) and kind;
//! - [`value`] reads printed values (strings, fds, sockaddrs, arrays);
//! - [`decode`] turns one complete call into an event kind;
//! - [`parser`] joins split calls, attaches hex dumps, counts;
//! - [`reader`] opens files (plain, `.gz`, `.zst`) and `-ff` sets.

pub mod decode;
pub mod line;
pub mod parser;
pub mod reader;
pub mod value;

pub use parser::{ParseStats, Parser};
pub use reader::{LogFile, LogReader};
