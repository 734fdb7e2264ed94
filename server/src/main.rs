use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use server::auth::{Auth, AuthConfig};
use server::config::{Cli, Command, UserCommand};
use server::definitions::{ApplyMode, By, DefinitionFile, apply};
use server::engine::clock::SystemClock;
use server::serve::Server;
use server::store::Store;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NIGHTSHIFT_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    // Logs, and by default the database, are the server's alone.
    let common = match &cli.command {
        Some(Command::Import(args)) => &args.common,
        Some(Command::Snapshot(args)) => &args.common,
        Some(Command::CheckCounts(args)) => &args.common,
        Some(Command::User(UserCommand::Add(args))) => &args.common,
        Some(Command::User(UserCommand::List(args))) => &args.common,
        Some(Command::Serve(args)) => &args.common,
        None => &cli.serve.common,
    };
    server::engine::sandbox::private_dir(&common.data_dir).with_context(|| {
        format!("cannot create the data directory {}", common.data_dir.display())
    })?;
    match cli.command.unwrap_or(Command::Serve(Box::new(cli.serve))) {
        Command::Serve(args) => {
            let signals = server::serve::Signals::catch().context("cannot catch signals")?;
            let server = Server::start(&args, Arc::new(SystemClock)).await?;
            if server.engine.config().roles.api {
                println!("Nightshift is serving http://{}", server.addr);
            } else {
                let config = server.engine.config();
                println!("Nightshift is running as {} ({})", config.host, config.roles.names());
            }
            server.wait_for_signal(signals).await;
        }
        Command::Import(args) => {
            let file = DefinitionFile::read(&args.path)?;
            let store = Store::open(&args.common.store_options()).await?;
            let report = apply(&store, file, ApplyMode::Upsert, By::System, chrono::Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!(e.message))
                .context("import refused")?;
            println!(
                "imported {}: {} created, {} updated, {} unchanged, {} resource groups",
                args.path.display(),
                report.created.len(),
                report.updated.len(),
                report.unchanged.len(),
                report.resource_groups
            );
        }
        Command::Snapshot(args) => {
            let store = Store::open(&args.common.store_options()).await?;
            let began = std::time::Instant::now();
            let created = server::engine::snapshot::generate(
                &store,
                args.common.timezone,
                args.run_date,
                chrono::Utc::now(),
            )
            .await?;
            // Running servers hear of it at once (on a shared database; else within seconds).
            let millis = began.elapsed().as_millis() as u64;
            let made = server::engine::EngineEvent::SnapshotMade {
                run_date: args.run_date,
                created,
                millis,
            };
            server::engine::bus::tell(&store, made).await?;
            println!("run date {}: {created} instances created", args.run_date);
        }
        Command::CheckCounts(args) => {
            let store = Store::open(&args.common.store_options()).await?;
            let mismatches = store.count_mismatches().await?;
            for m in &mismatches {
                println!("{} {}: kept {}, counted {}", m.counts, m.key, m.kept, m.counted);
            }
            let differ = if mismatches.is_empty() {
                println!("the instance counts equal a fresh count");
                0
            } else if args.repair {
                store.recount().await?;
                let left = store.count_mismatches().await?.len();
                println!("recounted: {} keys differed, {left} differ now", mismatches.len());
                left
            } else {
                println!("{} keys differ (run again with --repair to recount)", mismatches.len());
                mismatches.len()
            };
            store.close().await;
            if differ > 0 {
                std::process::exit(1);
            }
        }
        Command::User(UserCommand::Add(args)) => {
            let password = read_password(&args.name)?;
            let store = Store::open(&args.common.store_options()).await?;
            let auth = Auth::new(store, Arc::new(SystemClock), AuthConfig::default());
            let new = app::people::NewUser { name: args.name.clone(), password, role: args.role };
            let user = auth.create_user(&new).await.map_err(|e| anyhow::anyhow!(e.message))?;
            println!("added {} as {}", user.name, user.role);
        }
        Command::User(UserCommand::List(args)) => {
            let store = Store::open(&args.common.store_options()).await?;
            let mut after: Option<String> = None;
            loop {
                let page = store.list_users(after.as_deref(), 500).await?;
                for user in &page.items {
                    let disabled = if user.disabled { " (disabled)" } else { "" };
                    println!("{}\t{}{disabled}", user.name, user.role);
                }
                match page.next_cursor {
                    Some(cursor) => after = Some(cursor),
                    None => break,
                }
            }
        }
    }
    Ok(())
}

/// The new account's password: `NIGHTSHIFT_PASSWORD`, else asked twice on the terminal, else
/// the first line of standard input (for scripts). It is never echoed or printed.
fn read_password(name: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if let Ok(password) = std::env::var("NIGHTSHIFT_PASSWORD") {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))?;
        let again = rpassword::prompt_password("the same again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
