use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use server::config::{Cli, Command};
use server::definitions::DefinitionFile;
use server::engine::clock::SystemClock;
use server::serve::Server;
use server::store::{ApplyMode, Store};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NIGHTSHIFT_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => {
            let server = Server::start(&args, Arc::new(SystemClock)).await?;
            println!("Nightshift is serving http://{}", server.addr);
            server.wait_for_signal().await;
        }
        Command::Import(args) => {
            let file = DefinitionFile::read(&args.path)?;
            let store = Store::open(&args.common.store_options()).await?;
            let report = store
                .apply_definitions(&file, ApplyMode::Upsert, chrono::Utc::now())
                .await
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
            let created = server::engine::snapshot::generate(
                &store,
                args.common.timezone,
                args.run_date,
                chrono::Utc::now(),
            )
            .await?;
            println!("run date {}: {created} instances created", args.run_date);
        }
    }
    Ok(())
}
