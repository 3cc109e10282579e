//! `tributary`: the command line. Parses arguments, builds configuration and calls one library
//! entry point per subcommand; errors are printed with their whole context chain, each cause
//! once.

mod allocator;
mod cli;
mod commands;
mod exit;
mod metrics_server;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    allocator::tune();
    let cli = cli::Cli::parse();
    if !matches!(cli.command, cli::Command::Run(_)) {
        exit::quiet_on_closed_pipe();
    }
    cli::init_logging(&cli.global, &cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command, cli.global.schema)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", exit::error_text(&e));
            ExitCode::FAILURE
        }
    }
}
