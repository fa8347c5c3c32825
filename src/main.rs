//! The `palavriado` binary: the command line (and, later, the desktop app) over the engine.

#[cfg(not(feature = "gui"))]
use clap::CommandFactory;
use palavriado::CountingAlloc;
#[cfg(not(feature = "gui"))]
use palavriado::frontend::cli::Cli;
use palavriado::frontend::cli::{Command, bench_command, parse_args, run_command};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc(std::alloc::System);

fn main() {
    CountingAlloc::activate();
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(code) => std::process::exit(code),
    };
    let code = match &cli.command {
        Some(Command::Run(args)) => run_command(args),
        Some(Command::Bench(args)) => bench_command(args),
        Some(Command::Show(args)) => palavriado::frontend::cli::show_command(args),
        Some(Command::Attach(args)) => palavriado::frontend::cli::attach_command(args),
        Some(Command::Fleet(args)) => palavriado::frontend::cli::fleet_command(args),
        #[cfg(feature = "gui")]
        Some(Command::Reproduce(args)) => palavriado::frontend::cli::reproduce_command(args),
        #[cfg(feature = "gui")]
        Some(Command::App(args)) => open_app(args.clone()),
        #[cfg(feature = "gui")]
        None => open_app(Default::default()),
        #[cfg(not(feature = "gui"))]
        None => {
            let _ = Cli::command().print_help();
            0
        }
    };
    std::process::exit(code);
}

#[cfg(feature = "gui")]
fn open_app(args: palavriado::frontend::cli::AppArgs) -> i32 {
    match palavriado::frontend::app::run_app(args.options()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!(
                "palavriado: cannot open the app window: {e} (is a display available? `palavriado --help` lists the command-line tools)"
            );
            1
        }
    }
}
