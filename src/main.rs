//! `jobber`: parse the command line and hand over to `jobber::cli`.

fn main() -> std::process::ExitCode {
    jobber::cli::main()
}
