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

impl Context {
    /// Whether the project runs on SageMaker.
    pub(crate) fn is_sagemaker(&self) -> bool {
        self.config.config.backend.kind == wb_core::BackendKind::Sagemaker
    }

    /// Refuses SageMaker-only options on the local backend, naming them.
    pub(crate) fn sagemaker_only(&self, given: &[(&str, bool)]) -> Result<()> {
        if self.is_sagemaker() {
            return Ok(());
        }
        let flags: Vec<&str> = given.iter().filter(|(_, set)| *set).map(|(flag, _)| *flag).collect();
        if flags.is_empty() {
            return Ok(());
        }
        anyhow::bail!(
            "{} only {} to backend \"sagemaker\"; this project ({}) uses the local backend",
            flags.join(", "),
            if flags.len() == 1 { "applies" } else { "apply" },
            self.config.path.display()
        )
    }
}

/// The error of a SageMaker project in a build without the `aws` feature.
#[cfg(not(feature = "aws"))]
pub(crate) fn no_aws() -> anyhow::Error {
    anyhow::anyhow!("backend \"sagemaker\" needs a wb built with the `aws` feature")
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
