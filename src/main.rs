use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    sipforge::cli::run(sipforge::cli::Cli::parse())
}
