//! Loading the configuration and opening the store.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use wb_core::{DynObjectStore, LoadedConfig, LocalStore, StoreUri};

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
    match config.store_uri()? {
        StoreUri::Local(dir) => Ok(Arc::new(LocalStore::open(&dir)?)),
        uri @ StoreUri::S3 { .. } => open_s3(config, &uri).await,
    }
}

#[cfg(feature = "aws")]
async fn open_s3(config: &LoadedConfig, uri: &StoreUri) -> Result<DynObjectStore> {
    use wb_aws::aws_config;
    let aws = &config.config.aws;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &aws.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(url) = &aws.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    let sdk = loader.load().await;
    let encryption = match &aws.kms_key_id {
        Some(key_id) => wb_aws::Encryption::Kms { key_id: key_id.clone() },
        None => wb_aws::Encryption::SseS3,
    };
    Ok(Arc::new(wb_aws::S3Store::from_sdk_config(&sdk, uri, encryption)?))
}

#[cfg(not(feature = "aws"))]
async fn open_s3(_config: &LoadedConfig, uri: &StoreUri) -> Result<DynObjectStore> {
    anyhow::bail!("store {uri} is on S3, but this wb was built without the `aws` feature")
}
