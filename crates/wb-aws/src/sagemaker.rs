//! What every SageMaker module shares: error mapping, "not found" detection and tags.

use std::collections::BTreeMap;

use aws_sdk_sagemaker::config::http::HttpResponse;
use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemaker::types::Tag;

use crate::error::{Error, Result};

/// The project's tags as SageMaker tags.
pub(crate) fn tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// SageMaker's ways of saying "no such resource": a `ValidationException` with "Could not find"
/// (endpoints, models, jobs), "does not exist" or "not found" (model package groups and
/// packages), or `ResourceNotFound`.
pub(crate) fn is_not_found<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().is_some_and(|s| {
        s.code() == Some("ResourceNotFound")
            || (s.code() == Some("ValidationException")
                && s.message().is_some_and(|m| {
                    m.contains("Could not find") || m.contains("does not exist") || m.contains("not found")
                }))
    })
}

pub(crate) fn ignore_missing<T, E>(
    result: std::result::Result<T, SdkError<E, HttpResponse>>,
    operation: &'static str,
    resource: &str,
) -> Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(sagemaker_error(operation, resource, e)),
    }
}

pub(crate) fn sagemaker_error<E>(operation: &'static str, resource: &str, e: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message) = crate::error::code_and_message(&e);
    Error::SageMaker { operation, resource: resource.to_owned(), code, message }
}
