//! A project: its `workbench.toml` and its store, with the workbench's services on top.

use std::path::Path;

use wb_core::{DynObjectStore, LoadedConfig};
use wb_datasets::Datasets;
use wb_models::endpoints::Endpoints;
use wb_models::registry::Registry;
use wb_models::training::TrainingJobs;

/// The facade's error: whichever crate failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Configuration, names or the store.
    #[error(transparent)]
    Core(#[from] wb_core::Error),
    /// Datasets.
    #[error(transparent)]
    Datasets(#[from] wb_datasets::Error),
    /// Models, endpoints, registry.
    #[error(transparent)]
    Models(#[from] wb_models::Error),
    /// Comparisons and reports.
    #[error(transparent)]
    Compare(#[from] wb_compare::Error),
    /// The S3 store.
    #[cfg(feature = "aws")]
    #[error(transparent)]
    Aws(#[from] wb_aws::Error),
}

/// A project opened from its `workbench.toml`.
#[derive(Clone, Debug)]
pub struct Project {
    /// The configuration.
    pub config: LoadedConfig,
    /// Its store.
    pub store: DynObjectStore,
}

impl Project {
    /// Opens the project whose `workbench.toml` is `$WB_CONFIG`, or the first one found in the
    /// current directory or its parents.
    ///
    /// # Errors
    /// No configuration found, an invalid one, or a store that cannot be opened.
    pub async fn discover() -> Result<Self, Error> {
        let config = match std::env::var_os("WB_CONFIG") {
            Some(path) => LoadedConfig::load(Path::new(&path))?,
            None => LoadedConfig::discover(&std::env::current_dir().map_err(|e| wb_core::Error::Io {
                operation: "reading",
                path: ".".into(),
                source: e,
            })?)?,
        };
        Self::open(config).await
    }

    /// Opens the project of a loaded configuration.
    ///
    /// # Errors
    /// A store that cannot be opened (an S3 store needs the `aws` feature).
    pub async fn open(config: LoadedConfig) -> Result<Self, Error> {
        #[cfg(feature = "aws")]
        let store = wb_aws::open_store(&config).await?;
        #[cfg(not(feature = "aws"))]
        let store: DynObjectStore = std::sync::Arc::new(wb_core::open_local(&config.store_uri()?)?);
        Ok(Self { config, store })
    }

    /// Registered datasets and their partitions.
    #[must_use]
    pub fn datasets(&self) -> Datasets {
        Datasets::new(self.store.clone())
    }

    /// Training jobs.
    #[must_use]
    pub fn training(&self) -> TrainingJobs {
        TrainingJobs::new(self.store.clone())
    }

    /// Endpoints.
    #[must_use]
    pub fn endpoints(&self) -> Endpoints {
        Endpoints::new(self.store.clone())
    }

    /// The model registry.
    #[must_use]
    pub fn registry(&self) -> Registry {
        Registry::new(self.store.clone())
    }

    /// A comparison of the registered models on the test split, scored through `invoker`
    /// (the local server's `RuntimeClient`, or `wb_aws::SageMakerRuntime`); configure it and
    /// `.await` it.
    pub fn compare(&self, invoker: std::sync::Arc<dyn wb_models::invoke::InvokeEndpoint>) -> wb_compare::Compare {
        wb_compare::compare(self.store.clone(), invoker)
    }

    /// The project's tags (the project tag included), for every resource it creates.
    #[must_use]
    pub fn tags(&self) -> std::collections::BTreeMap<String, String> {
        self.config.tags()
    }
}
