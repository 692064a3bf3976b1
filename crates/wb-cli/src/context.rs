//! Loading the configuration and opening the store.

use std::path::Path;

use anyhow::{Context as _, Result};
use wb_core::{DynObjectStore, LoadedConfig};

/// The loaded configuration and its store.
pub(crate) struct Context {
    pub(crate) config: LoadedConfig,
    pub(crate) store: DynObjectStore,
}

impl Context {
    /// Loads `explicit` or discovers `workbench.toml` from the current directory, and opens
    /// its store.
    pub(crate) async fn load(explicit: Option<&Path>) -> Result<Self> {
        let config = match explicit {
            Some(path) => LoadedConfig::load(path)?,
            None => LoadedConfig::discover(&std::env::current_dir().context("reading the current directory")?)?,
        };
        let store = open_store(&config).await?;
        Ok(Self { config, store })
    }
}

/// Opens the configured store: a local directory, or S3 (with the `aws` feature).
pub(crate) async fn open_store(config: &LoadedConfig) -> Result<DynObjectStore> {
    #[cfg(feature = "aws")]
    {
        Ok(wb_aws::open_store(config).await?)
    }
    #[cfg(not(feature = "aws"))]
    {
        Ok(std::sync::Arc::new(wb_core::open_local(&config.store_uri()?)?))
    }
}
