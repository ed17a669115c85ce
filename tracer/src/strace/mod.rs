//! The strace-log parser.
