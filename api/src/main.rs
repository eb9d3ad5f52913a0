//! The `referral-exchange` binary: settings → telemetry → subcommand.

use std::io::Read;

use anyhow::Context;
use api::cli::BenchOptions;
use api::settings::Settings;
use api::startup::Application;
use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: a third of the server's CPU went to
/// the allocator and memory copies, and glibc kept Argon2's 19 MiB working
/// buffers after sign-ins (README, "Benchmarks", has the measurements). With
/// the `override` feature it also serves C's malloc (SQLite's allocations).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "referral-exchange",
    version,
    about = "GraphQL backend for referral networking groups"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator (or promote an existing account); the password is read from standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Load one realistic demo chapter (idempotent) and print the leader's sign-in.
    SeedDemo,
    /// Fill an EMPTY database with a large deterministic synthetic network
    /// for benchmarks (bulk inserts); prints progress on standard error and
    /// a one-line JSON summary on standard output.
    SeedBench {
        #[arg(long, default_value_t = BenchOptions::default().members)]
        members: usize,
        #[arg(long, default_value_t = BenchOptions::default().groups)]
        groups: usize,
        #[arg(long, default_value_t = BenchOptions::default().referrals)]
        referrals: usize,
        /// Bench accounts bench1..benchA@bench.example (password bench-password-1).
        #[arg(long, default_value_t = BenchOptions::default().accounts)]
        accounts: usize,
        /// Years of history up to yesterday.
        #[arg(long, default_value_t = BenchOptions::default().years)]
        years: u32,
    },
    /// Print the GraphQL schema (SDL); needs no database.
    ExportSchema,
    /// Write a consistent copy of the SQLite database to PATH while the
    /// server runs (on PostgreSQL, explains how to use pg_dump instead).
    Backup {
        /// A new file for the copy.
        path: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    if let Command::ExportSchema = command {
        print!("{}", api::cli::export_schema());
        return Ok(());
    }
    let production = std::env::var("RX_ENV").is_ok_and(|v| v == "production");
    let telemetry = api::telemetry::init(production);
    let result = run(command).await;
    telemetry.shutdown();
    result
}

async fn run(command: Command) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    match command {
        Command::Serve | Command::ExportSchema => serve(settings).await,
        Command::Backup { path } => {
            let written = api::cli::backup(&settings.database_url, &path).await?;
            println!(
                "backup written to {} ({} bytes)",
                written.path.display(),
                written.bytes
            );
            Ok(())
        }
        Command::Migrate => {
            api::cli::migrate(&settings.database_url).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::SeedDemo => {
            let seeded = api::cli::seed_demo(&settings.database_url).await?;
            if seeded.created {
                println!(
                    "demo chapter loaded: {} members, {} meetings, {} referrals",
                    seeded.members, seeded.meetings, seeded.referrals
                );
            } else {
                println!("the demo chapter is already loaded");
            }
            println!(
                "sign in as the demo leader: email {} password {}",
                api::cli::DEMO_LEADER_EMAIL,
                api::cli::DEMO_PASSWORD
            );
            Ok(())
        }
        Command::SeedBench {
            members,
            groups,
            referrals,
            accounts,
            years,
        } => {
            let options = BenchOptions {
                members,
                groups,
                referrals,
                accounts,
                years,
                ..BenchOptions::default()
            };
            let seeded = api::cli::seed_bench(&settings.database_url, options).await?;
            println!("{}", seeded.summary_line());
            Ok(())
        }
        Command::CreateAdmin { email, name } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let (name, email) =
                api::cli::create_admin(&settings.database_url, &email, &name, password).await?;
            println!("administrator {name} ({email}) is ready");
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.bind.clone();
    let production = settings.is_production();
    let app = Application::build(settings).await?;
    let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    if production {
        println!(
            "referral-exchange listening on http://{host}:{}/graphql",
            app.port()
        );
    } else {
        println!(
            "referral-exchange is up: GraphiQL at http://{host}:{}/graphql",
            app.port()
        );
    }
    tokio::spawn(app.handle().stop_on_signal());
    app.run_until_stopped().await?;
    println!("referral-exchange stopped");
    Ok(())
}
