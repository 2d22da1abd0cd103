//! The `orc` binary: parse, run, render the error, exit. Everything else lives in the library.

fn main() {
    let code = orc::cli::main(std::env::args_os());
    #[allow(clippy::exit)]
    std::process::exit(code);
}
