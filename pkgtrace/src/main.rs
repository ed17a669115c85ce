//! The `pkgtrace` binary: the command line ([`cli`]), the text rendering of
//! reports ([`text`]) and the driver of sandboxed runs ([`run`]).

mod cli;
mod run;
mod text;

fn main() {
    std::process::exit(cli::main());
}
