//! `wb init`.

use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;
use wb_core::{CONFIG_FILE, Config, LoadedConfig};

use crate::cli::InitArgs;
use crate::output::print_json;

#[derive(Serialize)]
struct Initialized {
    config: String,
    store: String,
    backend: String,
}

/// Writes `workbench.toml` into `dir` (or the directory of `explicit`) and opens its store.
pub(crate) async fn run(args: InitArgs, explicit: Option<&Path>) -> Result<()> {
    let path = match explicit {
        Some(p) => p.to_owned(),
        None => std::env::current_dir()?.join(CONFIG_FILE),
    };
    if path.exists() {
        bail!("{} already exists; edit it, or remove it first", path.display());
    }
    let mut config = Config::default();
    config.store.uri = args.store;
    config.backend.kind = args.backend.into();
    if let Some(name) = args.name {
        config.project.name = name;
    }
    config.aws.role_arn = args.role;
    config.aws.region = args.region;
    config.backend.image = args.image;
    config.validate(&path)?;
    let loaded = LoadedConfig { path: std::path::absolute(&path)?, config };
    let store = workbench::Project::open(loaded.clone()).await?.store;
    // Check now that the store is there and readable (a missing bucket, denied access), rather
    // than at the first real command.
    let probe = wb_core::ObjectPath::parse("datasets").expect("a valid path");
    store.list(Some(&probe)).await?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, loaded.config.to_toml())?;
    let out = Initialized {
        config: loaded.path.display().to_string(),
        store: store.uri().to_string(),
        backend: loaded.config.backend.kind.to_string(),
    };
    if args.json {
        print_json(&out)
    } else {
        println!("wrote {}\nstore   {}\nbackend {}", out.config, out.store, out.backend);
        Ok(())
    }
}
