//! `wb`, the workbench command-line tool. See `wb --help`.

mod cli;
mod commands;
mod context;
mod logging;
mod output;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::context::Context;

/// jemalloc rather than glibc's malloc. Partitioning decodes on every core and hands the
/// batches to writer threads; under glibc's per-thread arenas the heap grew with the rows
/// processed (a 10M-row partition peaked at 1.6x the 1M-row figure, 1.33x with jemalloc).
/// `.cargo/config.toml` sets its decay to 1 s at build time (`JEMALLOC_SYS_WITH_MALLOC_CONF`),
/// so freed batches do not stay resident for jemalloc's default 10 s.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return argument_error(&e),
    };
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(found) = e.downcast_ref::<commands::monitor::ViolationsFound>() {
                eprintln!("{found}");
                return ExitCode::from(2);
            }
            eprintln!("error: {}", output::one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// `--help` and `--version` print and succeed; every other parse failure is one `error:` line
/// and exit status 1, like any other error (the README's contract, also in `wb --help`).
fn argument_error(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("error: a command is missing; `wb --help` (or `wb <command> --help`) lists them");
            ExitCode::FAILURE
        }
        _ => {
            // clap's first paragraph, on one line (a missing argument's name is on the next line).
            let text = e.render().to_string();
            let paragraph: Vec<&str> = text
                .lines()
                .skip_while(|l| l.trim().is_empty())
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let joined = paragraph.join(" ");
            let message = joined.strip_prefix("error: ").unwrap_or(&joined);
            eprintln!("error: {message} (see --help)");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Init(args) => commands::init::run(args, config).await,
        Command::Dataset(command) => {
            let ctx = Context::load(config).await?;
            commands::dataset::run(command, &ctx, cli.quiet).await
        }
        Command::Etl(command) => commands::etl::run(command, cli.quiet).await,
        Command::Demo(args) => match args.which {
            cli::DemoKind::Wine => commands::demo::run(args, cli.quiet).await,
            cli::DemoKind::Images => commands::demo_images::run(args, cli.quiet).await,
        },
        Command::Train(args) => commands::models::train(args, &Context::load(config).await?, cli.quiet).await,
        Command::Jobs(command) => commands::models::jobs(command, &Context::load(config).await?).await,
        Command::Deploy(args) => commands::serving::deploy(args, &Context::load(config).await?, cli.quiet).await,
        Command::Register(args) => commands::models::register(args, &Context::load(config).await?).await,
        Command::Models(command) => commands::models::models(command, &Context::load(config).await?).await,
        Command::Serve(args) => commands::serving::serve(args, &Context::load(config).await?).await,
        Command::Endpoints(command) => commands::serving::endpoints(command, &Context::load(config).await?).await,
        Command::Clean(args) => commands::clean::run(args, &Context::load(config).await?).await,
        Command::Compare(args) => commands::compare::run(args, &Context::load(config).await?, cli.quiet).await,
        Command::Promote(args) => commands::compare::promote(args, &Context::load(config).await?).await,
        Command::Monitor(command) => commands::monitor::run(command, &Context::load(config).await?, cli.quiet).await,
        Command::Workflow(command) => commands::workflow::run(command, config, cli.quiet).await,
        Command::Aws(command) => aws(command, config).await,
    }
}

#[cfg(feature = "aws")]
async fn aws(command: cli::AwsCommand, config: Option<&std::path::Path>) -> anyhow::Result<()> {
    commands::sagemaker::aws(command, &Context::load(config).await?).await
}

#[cfg(not(feature = "aws"))]
async fn aws(_: cli::AwsCommand, _: Option<&std::path::Path>) -> anyhow::Result<()> {
    anyhow::bail!("`wb aws` needs a wb built with the `aws` feature")
}
