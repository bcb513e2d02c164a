//! The `transcript-migrator` command line, built inside the test package so that its tests can
//! run the real worker as a process of its own (and kill it).

fn main() -> std::process::ExitCode {
    worker::cli::main()
}
