//! Loading the configuration and opening the project (its store and its backend).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use wb_core::{DynObjectStore, LoadedConfig};
use workbench::Project;

use crate::commands::serving::BackgroundServe;

/// The loaded configuration, its store and the project opened on them.
pub(crate) struct Context {
    pub(crate) config: LoadedConfig,
    pub(crate) store: DynObjectStore,
    /// The project: every command goes through its backend.
    pub(crate) project: Project,
}

impl Context {
    /// Loads `explicit` or discovers `workbench.toml` from the current directory, and opens
    /// the project.
    pub(crate) async fn load(explicit: Option<&Path>) -> Result<Self> {
        let config = match explicit {
            Some(path) => LoadedConfig::load(path)?,
            None => LoadedConfig::discover(&std::env::current_dir().context("reading the current directory")?)?,
        };
        Self::open(config).await
    }

    /// Opens the project of `config`. On the local backend, the model server is started as a
    /// background `wb serve`, so it outlives the command.
    pub(crate) async fn open(config: LoadedConfig) -> Result<Self> {
        let project =
            Project::builder(config.clone()).server_launcher(Arc::new(BackgroundServe::new(&config))).open().await?;
        Ok(Self { config, store: project.store.clone(), project })
    }

    /// Refuses options about instances on a backend that has none, naming them.
    pub(crate) fn instance_options(&self, given: &[(&str, bool)]) -> Result<()> {
        if self.project.backend().capabilities().instances {
            return Ok(());
        }
        let flags: Vec<&str> = given.iter().filter(|(_, set)| *set).map(|(flag, _)| *flag).collect();
        if flags.is_empty() {
            return Ok(());
        }
        anyhow::bail!(
            "{} only {} to backend \"sagemaker\"; this project ({}) uses the {} backend",
            flags.join(", "),
            if flags.len() == 1 { "applies" } else { "apply" },
            self.config.path.display(),
            self.project.kind()
        )
    }
}
