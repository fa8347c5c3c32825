//! The `palavriado` binary: the command line (and, later, the desktop app) over the engine.

use clap::CommandFactory;
use palavriado::cli::{Cli, Command, parse_args, run_command};
use palavriado::probe::heap::CountingAlloc;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    CountingAlloc::activate();
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(code) => std::process::exit(code),
    };
    let code = match &cli.command {
        Some(Command::Run(args)) => run_command(args),
        None => {
            let _ = Cli::command().print_help();
            0
        }
    };
    std::process::exit(code);
}
