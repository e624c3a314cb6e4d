//! The `quorum` binary: parses the command line and hands over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    quorum::cli::run(quorum::cli::Cli::parse())
}
