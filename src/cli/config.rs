//! `orc config get|set|list|unset`.

use super::Context;
use crate::config::{self, Change, Settings};
use crate::error::Result;

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print one setting (its default when not set)
    Get { key: String },
    /// Change one setting (validated; unknown keys and bad values are refused)
    Set {
        key: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Print every setting with its value and source (default or set)
    List,
    /// Return one setting to its default
    Unset { key: String },
}

pub fn run(args: ConfigCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match args {
        ConfigCommand::Get { key } => get(ctx, &key),
        ConfigCommand::Set { key, value } => change(ctx, Change::Set(key, value)),
        ConfigCommand::List => list(ctx),
        ConfigCommand::Unset { key } => change(ctx, Change::Unset(key)),
    }
}

fn get(ctx: &mut Context<'_>, key: &str) -> Result<i32> {
    let def = config::key_def(key)?;
    let settings = Settings::load(ctx.store()?)?;
    let (value, default) = settings.value(def.key)?;
    if ctx.json {
        let value = (!value.is_empty() || !default).then_some(value);
        ctx.print_json(&serde_json::json!({ "key": def.key, "value": value, "default": default }))?;
    } else {
        ctx.print(&value)?;
    }
    Ok(0)
}

fn list(ctx: &mut Context<'_>) -> Result<i32> {
    let settings = Settings::load(ctx.store()?)?;
    let entries = settings.entries();
    if ctx.json {
        return ctx.print_json(&entries).map(|_| 0);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| vec![e.key.to_string(), e.value.clone().unwrap_or_default(), e.source.to_string()])
        .collect();
    ctx.print_raw(&crate::render::table(&["KEY", "VALUE", "SOURCE"], &rows))?;
    Ok(0)
}

fn change(ctx: &mut Context<'_>, change: Change) -> Result<i32> {
    let command = ctx.command_line.clone();
    let mut applied = config::apply(ctx.store()?, &[change], &command)?;
    let a = applied.remove(0);
    if ctx.json {
        let (value, default) = Settings::load(ctx.store()?)?.value(a.key)?;
        ctx.print_json(&serde_json::json!({
            "key": a.key,
            "value": value,
            "default": default,
            "changed": a.changed,
        }))?;
        return Ok(0);
    }
    if ctx.verbosity < 0 {
        return Ok(0);
    }
    let def = config::key_def(a.key)?;
    let shown = |v: &Option<String>| match v {
        Some(v) => v.clone(),
        None if def.default.is_empty() => "(default: not set)".to_string(),
        None => format!("{} (default)", def.default),
    };
    if a.changed {
        ctx.print(&format!("{} = {}  (was {})", a.key, shown(&a.after), shown(&a.before)))?;
    } else {
        ctx.print(&format!("{} = {}  (unchanged)", a.key, shown(&a.after)))?;
    }
    Ok(0)
}
