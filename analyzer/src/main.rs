fn main() {
    std::process::exit(pkgtrace::cli::main());
}
