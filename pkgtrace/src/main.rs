//! The `pkgtrace` binary: the command line ([`cli`]) and its subcommands
//! ([`cmd`]), its exit codes ([`exit`]), the text rendering of reports
//! ([`text`]) and the driver of sandboxed runs ([`run`]).

mod cli;
mod cmd;
mod exit;
mod run;
mod scan;
mod text;

fn main() {
    std::process::exit(cli::main());
}
