//! The figment stack: defaults, then the TOML file (old flat keys moved into their tables),
//! then `CHAT_*` variables, then flags; a later layer wins key by key (lists are replaced, not
//! appended). Each layer is named, so `config print` can say where every value came from.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};

use super::args::{NodeArgs, Source};
use super::file::{self, Settings};
use super::{ConfigError, ConfigWarning};

/// Layer names, as `config print` shows them.
pub const DEFAULT: &str = "default";
pub const FILE: &str = "config file";
pub const ENV: &str = "environment";
pub const FLAG: &str = "flag";

/// The layered configuration before validation.
pub struct Layered {
    pub settings: Settings,
    pub figment: Figment,
    pub warnings: Vec<ConfigWarning>,
}

/// One layer: a nested table under a name.
struct Layer {
    name: &'static str,
    path: Option<PathBuf>,
    table: toml::Table,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let md = Metadata::named(self.name);
        match &self.path {
            Some(p) => md.source(figment::Source::File(p.clone())),
            None => md,
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        figment::providers::Serialized::defaults(&self.table).data()
    }
}

fn to_table<T: serde::Serialize>(value: &T) -> Result<toml::Table, ConfigError> {
    toml::Table::try_from(value).map_err(|e| ConfigError::Layers {
        reason: e.to_string(),
    })
}

fn read_file(path: &Path) -> Result<(toml::Table, Vec<ConfigWarning>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let moved = file::rewrite_legacy(&mut table).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let warnings = moved
        .into_iter()
        .map(|k| ConfigWarning::LegacyKey {
            old: k.flat,
            new: k.nested,
        })
        .collect();
    Ok((table, warnings))
}

/// The flags and variables clap parsed, as two nested tables (environment, flags).
fn clap_tables(args: &NodeArgs) -> Result<(toml::Table, toml::Table), ConfigError> {
    let mut env = toml::Table::new();
    let mut flags = toml::Table::new();
    for (flat, value) in to_table(args)? {
        let key = file::by_flat(&flat).unwrap_or_else(|| panic!("flag {flat} has no config key"));
        let target = match args.sources.get(&flat) {
            Some(Source::Env) => &mut env,
            Some(Source::Flag) | None => &mut flags,
        };
        file::insert_path(target, key.nested, value);
    }
    Ok((env, flags))
}

pub fn layer(args: &NodeArgs) -> Result<Layered, ConfigError> {
    let mut figment = Figment::from(Layer {
        name: DEFAULT,
        path: None,
        table: to_table(&Settings::default())?,
    });
    let mut warnings = Vec::new();
    if let Some(path) = &args.config {
        let (table, moved) = read_file(path)?;
        warnings.extend(moved);
        figment = figment.merge(Layer {
            name: FILE,
            path: Some(path.clone()),
            table,
        });
    }
    let (env, flags) = clap_tables(args)?;
    figment = figment
        .merge(Layer {
            name: ENV,
            path: None,
            table: env,
        })
        .merge(Layer {
            name: FLAG,
            path: None,
            table: flags,
        });
    let settings: Settings = figment.extract().map_err(|e| {
        let mut reason = e.kind.to_string();
        if !e.path.is_empty() {
            reason.push_str(&format!(" at key {}", e.path.join(".")));
        }
        match &args.config {
            Some(path) => ConfigError::Parse {
                path: path.clone(),
                reason,
            },
            None => ConfigError::Layers { reason },
        }
    })?;
    Ok(Layered {
        settings,
        figment,
        warnings,
    })
}
