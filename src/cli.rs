//! The command line: `quorum serve | migrate | demo | bench-data | user add | audit verify`.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sqlx::Connection;

use crate::audit::{self, Actor};
use crate::auth::{normalize_email, password};
use crate::config::{DatabaseConfig, ServerConfig};
use crate::db::{Database, backup};
use crate::startup::{Application, shutdown_signal};
use crate::users::{self, Role, repo};
use crate::{demo, telemetry};

/// Quorum, the IT governance portal: the board approves and oversees, IT managers execute
/// and report, auditors verify.
///
/// Without DATABASE_URL, Quorum runs its own PostgreSQL cluster in QUORUM_DATA_DIR, using
/// the PostgreSQL server programs installed on this machine.
#[derive(Debug, Parser)]
#[command(name = "quorum", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    database: DatabaseConfig,

    /// Write logs as JSON lines instead of text.
    #[arg(long, env = "QUORUM_LOG_JSON", global = true)]
    log_json: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server (the default when no command is given).
    Serve(ServerConfig),
    /// Create the database if it is missing, apply pending migrations, and exit.
    Migrate,
    /// Run the web server with the demo organisation and its accounts loaded.
    Demo(ServerConfig),
    /// Load the demo organisation, then generate a large one on top of it for load
    /// benchmarks (scale 1: 20,000 risks and requests, 2,000,000 audit events), and exit.
    /// Every account signs in with the demo password (QUORUM_DEMO_PASSWORD, or a new one
    /// printed at the end).
    BenchData(BenchData),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Back up the database (pg_dump) and the evidence directory into a new directory.
    Backup(BackupArgs),
    /// Replace the database's content with a backup (pg_restore, in one transaction),
    /// then verify the audit trail. Stop Quorum first.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// A new or empty directory to write the backup into.
    #[arg(long)]
    to: std::path::PathBuf,
    /// Where evidence files are kept, when not in the database.
    #[arg(long, env = "QUORUM_EVIDENCE_DIR")]
    evidence_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// A directory written by `quorum backup`.
    #[arg(long)]
    from: std::path::PathBuf,
    /// Where evidence files are kept, when not in the database.
    #[arg(long, env = "QUORUM_EVIDENCE_DIR")]
    evidence_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
struct BenchData {
    /// How large: 1 is a large organisation, 0.1 a tenth of it.
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    scale: f64,
}

fn parse_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if (0.0001..=10.0).contains(&scale) => Ok(scale),
        _ => Err("a number from 0.0001 to 10".to_owned()),
    }
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. The password is asked for on a terminal, or read as the first
    /// line of standard input.
    Add(AddUser),
}

#[derive(Debug, Args)]
struct AddUser {
    /// The person's e-mail address (their sign-in name).
    #[arg(long)]
    email: String,
    /// The person's name as others see it.
    #[arg(long)]
    name: String,
    /// A role: board, it_manager, auditor or admin. Repeat for several.
    #[arg(long = "role", required = true)]
    roles: Vec<Role>,
    /// The board's chair (a board member).
    #[arg(long)]
    chair: bool,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the audit trail's hash chain; exits with 1 if it is broken.
    Verify,
}

/// The server settings from the environment alone, for `quorum` without a command.
#[derive(Debug, Parser)]
struct ServeDefaults {
    #[command(flatten)]
    server: ServerConfig,
}

pub fn run(cli: Cli) -> ExitCode {
    telemetry::init(cli.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeDefaults::parse_from(["quorum"]).server));
    let mut database = locate(cli.database).await?;
    let result = match command {
        Command::Serve(server) => serve(&database, server, None).await,
        Command::Demo(server) => serve(&database, server, Some(demo_password())).await,
        Command::BenchData(bench) => bench_data(&database, bench.scale).await,
        Command::Migrate => {
            println!("Database is ready and migrated.");
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Add(add)) => add_user(&database, add).await,
        Command::Audit(AuditCommand::Verify) => verify_audit(&database).await,
        Command::Backup(args) => backup(&database, args).await,
        Command::Restore(args) => restore(&database, args).await,
    };
    database.shutdown();
    result
}

/// The demo accounts' password: QUORUM_DEMO_PASSWORD, or a new one.
fn demo_password() -> String {
    std::env::var("QUORUM_DEMO_PASSWORD")
        .ok()
        .filter(|password| !password.is_empty())
        .unwrap_or_else(demo::generate_password)
}

/// Loads the demo organisation and everything `quorum demo` adds to it.
async fn load_demo(
    database: &Database,
    pool: &sqlx::PgPool,
    server: &ServerConfig,
    password: &str,
) -> anyhow::Result<()> {
    demo::load(pool, password).await?;
    demo::portfolio::load(pool).await?;
    use crate::approvals::model::RequestKind;
    demo::approvals::load(pool, server.rule(RequestKind::Budget)).await?;
    demo::risks::load(pool, server.rule(RequestKind::RiskAcceptance)).await?;
    demo::policies::load(pool, server.rule(RequestKind::PolicyPublication)).await?;
    demo::compliance::load(pool).await?;
    // Fresh statistics after a bulk load, so the first plans fit the data (the
    // application role may not ANALYZE tables it does not own: the owner does).
    let mut owner = database.owner_connection().await?;
    sqlx::query("ANALYZE").execute(&mut owner).await?;
    Ok(())
}

async fn bench_data(database: &Database, scale: f64) -> anyhow::Result<ExitCode> {
    let password = demo_password();
    let pool = database.app_pool().await?;
    let server = ServeDefaults::parse_from(["quorum"]).server;
    load_demo(database, &pool, &server, &password).await?;
    let mut owner = database.owner_connection().await?;
    if demo::bench_data::exists(&mut owner).await? {
        println!("This database holds a generated organisation already; nothing was added.");
        return Ok(ExitCode::SUCCESS);
    }
    let counts = demo::bench_data::Counts::at(scale);
    let plan = demo::bench_data::Plan {
        counts,
        password_hash: password::hash(password.clone()).await?,
    };
    let bar = indicatif::ProgressBar::new(demo::bench_data::progress_total(&counts));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    demo::bench_data::generate(&mut owner, &plan, |done| {
        bar.set_message(format!("{done} done"));
        bar.inc(1);
    })
    .await?;
    bar.finish_and_clear();
    println!(
        "Generated scale {scale} in {:.0?}: {counts:?}.\nEvery account's password: {password}",
        started.elapsed()
    );
    Ok(ExitCode::SUCCESS)
}

/// Finds (or starts) the database, creates it if missing and migrates it.
async fn locate(config: DatabaseConfig) -> anyhow::Result<Database> {
    let database = tokio::task::spawn_blocking(move || Database::locate(&config)).await??;
    database
        .prepare()
        .await
        .context("cannot prepare the database")?;
    Ok(database)
}

async fn serve(
    database: &Database,
    server: ServerConfig,
    demo_password: Option<String>,
) -> anyhow::Result<ExitCode> {
    let pool = database.app_pool().await?;
    if let Some(password) = &demo_password {
        load_demo(database, &pool, &server, password).await?;
    }
    let app = Application::build(server, pool.clone())
        .await
        .context("cannot listen on the configured address")?;
    let address = format!("http://{}", app.address());
    tracing::info!(%address, "Quorum is listening");
    println!("\nQuorum is running at {address}");
    if let Some(password) = &demo_password {
        println!("\nDemo accounts (password: {password}):");
        for account in demo::ACCOUNTS {
            let roles: Vec<&str> = account.roles.iter().map(|role| role.label()).collect();
            println!(
                "  {:<22} {}{}",
                account.email,
                roles.join(" + "),
                if account.is_chair { " (chair)" } else { "" }
            );
        }
        if let Some(key) = demo::two_step_key(&pool).await? {
            println!(
                "\n{} also enters a code from an authenticator app after the password.\n\
                 Add this key to one (time-based, six digits): {key}",
                demo::TWO_STEP_ACCOUNT
            );
        }
    }
    if demo_password.is_none() && !repo::any_exists(&mut *pool.acquire().await?).await? {
        println!(
            "\nThere are no accounts yet. Create the first administrator with\n  \
             quorum user add --email you@example.org --name \"Your Name\" --role admin"
        );
    }
    println!("\nPress Ctrl-C to stop.\n");
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn add_user(database: &Database, add: AddUser) -> anyhow::Result<ExitCode> {
    let email = normalize_email(&add.email);
    if add.chair && !add.roles.contains(&Role::Board) {
        anyhow::bail!("only a board member can chair the board: add --role board");
    }
    let password = read_new_password()?;
    if let Err(message) = password::check_policy(&password, &email, &add.name) {
        anyhow::bail!("{message}");
    }
    let mut roles = add.roles.clone();
    roles.sort();
    roles.dedup();
    let account = repo::NewAccount {
        email: email.clone(),
        display_name: add.name.trim().to_owned(),
        password_hash: password::hash(password).await?,
        roles,
        is_chair: add.chair,
    };
    let mut conn = database.owner_connection().await?;
    let mut tx = conn.begin().await?;
    let id = users::create_with_audit(&mut tx, &Actor::system(), None, &account)
        .await
        .with_context(|| format!("cannot create the account {email}"))?;
    tx.commit().await?;
    println!("Created account {id} for {email}.");
    Ok(ExitCode::SUCCESS)
}

fn read_new_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Password again: ")?;
        anyhow::ensure!(first == second, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

async fn backup(database: &Database, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let copied = backup::backup(database, &args.to, args.evidence_dir.as_deref())?;
    println!("Backup written to {}", args.to.display());
    if args.evidence_dir.is_some() {
        println!("Evidence files copied: {copied}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn restore(database: &Database, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let copied = backup::restore(database, &args.from, args.evidence_dir.as_deref())?;
    println!("Restored from {}", args.from.display());
    if args.evidence_dir.is_some() {
        println!("Evidence files copied back: {copied}");
    }
    // A backup of an older version is brought up to this one.
    database
        .prepare()
        .await
        .context("cannot migrate the restored database")?;
    verify_audit(database).await
}

async fn verify_audit(database: &Database) -> anyhow::Result<ExitCode> {
    let mut conn = database.owner_connection().await?;
    let report = audit::verify_chain(&mut conn).await?;
    println!("Events checked: {}", report.events_checked);
    println!("Chain head:     #{} {}", report.head_seq, report.head_hash);
    match &report.first_break {
        None => {
            println!("The audit trail is intact.");
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            println!(
                "The audit trail is BROKEN at event #{}: {}",
                broken.seq, broken.reason
            );
            Ok(ExitCode::from(1))
        }
    }
}
