//! Where models, endpoints and records live in the project's store.
//!
//! ```text
//! training/<job>/job.json                       the job record (status, spec, failure reason)
//! training/<job>/output/model.tar.gz            the packed /opt/ml/model
//! training/<job>/output/metrics.json            validation metrics
//! endpoints/<endpoint>.json                     endpoint records
//! servers/local.json                            the running local server (URL, process, instance)
//! registry/models/<model>.json                  one document per registered model
//! registry/promoted.json                        the promoted model
//! capture/<endpoint>/<variant>/yyyy/mm/dd/hh/<id>.jsonl   data capture
//! ```

use wb_core::{EndpointName, JobName, ModelName, ObjectPath};

fn path(p: String) -> ObjectPath {
    ObjectPath::parse(p).expect("paths built from validated names are valid")
}

/// `training/`.
#[must_use]
pub fn training_root() -> ObjectPath {
    path("training".into())
}

/// `training/<job>/`.
#[must_use]
pub fn job_prefix(job: &JobName) -> ObjectPath {
    path(format!("training/{job}"))
}

/// `training/<job>/job.json`.
#[must_use]
pub fn job_record(job: &JobName) -> ObjectPath {
    path(format!("training/{job}/job.json"))
}

/// `training/<job>/input/<channel>/`: a channel the store holds for the job itself (the
/// `metadata` channel of a SageMaker job: the dataset's schema, no rows).
#[must_use]
pub fn job_input_channel(job: &JobName, channel: &str) -> ObjectPath {
    path(format!("training/{job}/input/{channel}"))
}

/// `training/<job>/output/model.tar.gz`.
#[must_use]
pub fn model_artifact(job: &JobName) -> ObjectPath {
    path(format!("training/{job}/output/model.tar.gz"))
}

/// `training/<job>/output/metrics.json`.
#[must_use]
pub fn job_metrics(job: &JobName) -> ObjectPath {
    path(format!("training/{job}/output/metrics.json"))
}

/// `endpoints/`.
#[must_use]
pub fn endpoints_root() -> ObjectPath {
    path("endpoints".into())
}

/// `endpoints/<endpoint>.json`.
#[must_use]
pub fn endpoint_record(endpoint: &EndpointName) -> ObjectPath {
    path(format!("endpoints/{endpoint}.json"))
}

/// `servers/`.
#[must_use]
pub fn servers_root() -> ObjectPath {
    path("servers".into())
}

/// `servers/local.json`: the local model server of this store.
#[must_use]
pub fn local_server_record() -> ObjectPath {
    path("servers/local.json".into())
}

/// `registry/promoted.json`: the model chosen for production.
#[must_use]
pub fn promotion_record() -> ObjectPath {
    path("registry/promoted.json".into())
}

/// `registry/models/`.
#[must_use]
pub fn registry_root() -> ObjectPath {
    path("registry/models".into())
}

/// `registry/models/<model>.json`.
#[must_use]
pub fn model_record(model: &ModelName) -> ObjectPath {
    path(format!("registry/models/{model}.json"))
}

/// `capture/`: the data-capture destination of local endpoints.
#[must_use]
pub fn capture_root() -> ObjectPath {
    path("capture".into())
}
