//! `transcript-migrator`: see `worker::cli`.

fn main() -> std::process::ExitCode {
    worker::cli::main()
}
