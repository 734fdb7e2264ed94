//! `--demo`: loads the demo project and generates the instances of the last three run dates,
//! so a newcomer sees states change, logs fill and waits explained.

use app::error::AppError;
use chrono::Duration;

use crate::definitions::{ApplyMode, By, DefinitionFile, apply};
use crate::engine::Engine;

pub const DEMO_PROJECT: &str = include_str!("../demo/demo.toml");

pub async fn load(engine: &Engine) -> Result<(), AppError> {
    let file = DefinitionFile::parse("demo.toml", DEMO_PROJECT)?;
    let now = engine.clock().now();
    apply(engine.store(), file, ApplyMode::Upsert, By::System, now).await?;
    let today = now.with_timezone(&engine.config().tz).date_naive();
    for days_ago in (0..3).rev() {
        engine.snapshot(today - Duration::days(days_ago)).await?;
    }
    Ok(())
}
