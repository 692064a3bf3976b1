//! The command-line contract on an S3 store, against moto (provisioned by `wb_aws::testkit`).
//!
//! `wb` gets its AWS settings as a user's shell would give them: from environment variables
//! (`AWS_ENDPOINT_URL`, static keys, `AWS_REGION`) or from the `[aws]` table of workbench.toml.
//! Every other AWS variable is removed and the shared config files point at nothing, so neither
//! a developer's own profile nor real AWS can take part in a test.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use wb_aws::aws_sdk_s3::Client;
use wb_aws::aws_sdk_s3::primitives::ByteStream;
use wb_aws::aws_sdk_s3::types::ServerSideEncryption;
use wb_aws::testkit::Moto;

use crate::local::{csv, fails, json, wb};

/// AWS settings of the test process that must not reach `wb`.
pub(crate) const FOREIGN_AWS_VARS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// `wb` in `dir` with the static credentials `key` / `secret` and nothing else of the caller's
/// AWS set-up: no profile, empty shared config files, no instance metadata.
fn wb_with_keys(dir: &Path, key: &str, secret: &str) -> Command {
    let mut cmd = wb(dir);
    for var in FOREIGN_AWS_VARS {
        cmd.env_remove(var);
    }
    // Empty rather than absent: the SDK warns on stderr about a named file that is missing.
    let empty = dir.join("empty-aws-config");
    std::fs::write(&empty, "").expect("write the empty AWS config");
    cmd.env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret);
    cmd
}

/// `wb` configured for `moto` by environment variables alone.
pub(crate) fn wb_env(dir: &Path, moto: &Moto) -> Command {
    let mut cmd = wb_with_keys(dir, "testing", "testing");
    cmd.env("AWS_ENDPOINT_URL", moto.url()).env("AWS_REGION", "us-east-1");
    cmd
}

/// `wb` with the test keys only: endpoint and region must come from workbench.toml.
fn wb_toml(dir: &Path) -> Command {
    wb_with_keys(dir, "testing", "testing")
}

/// Writes a workbench.toml for `store`, with `[aws]` settings when `endpoint` is given.
fn write_config(dir: &Path, store: &str, endpoint: Option<&str>) {
    let mut text = format!("[store]\nuri = \"{store}\"\n");
    if let Some(url) = endpoint {
        text.push_str(&format!("\n[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{url}\"\n"));
    }
    std::fs::write(dir.join("workbench.toml"), text).expect("write workbench.toml");
}

/// A small classification table: `id,colour,size,label` with some `?` cells.
pub(crate) fn toy_csv(rows: usize) -> String {
    let mut text = String::from("id,colour,size,label\n");
    for i in 0..rows {
        let colour = if i % 9 == 0 { "?" } else { ["red", "blue"][i % 2] };
        text.push_str(&format!("{i},{colour},{},{}\n", i % 17, ["yes", "no", "no", "no"][i % 4]));
    }
    text
}

pub(crate) fn stdout_json(cmd: &mut Command) -> Value {
    json(&cmd.assert().success().get_output().stdout)
}

/// A stored object as S3 lists it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Listed {
    size: u64,
    etag: String,
}

/// A fresh bucket on a moto server, with a client (and a runtime to drive it) for looking at
/// what `wb` wrote.
pub(crate) struct Bucket {
    pub(crate) name: String,
    pub(crate) client: Client,
    pub(crate) rt: tokio::runtime::Runtime,
}

impl Bucket {
    pub(crate) fn fresh(moto: &Moto) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let name = rt.block_on(moto.fresh_bucket());
        Self { name, client: moto.s3_client(), rt }
    }

    /// Every object in the bucket: key → size and ETag.
    pub(crate) fn objects(&self) -> BTreeMap<String, Listed> {
        let out = self
            .rt
            .block_on(self.client.list_objects_v2().bucket(&self.name).send())
            .unwrap_or_else(|e| panic!("listing {}: {e:?}", self.name));
        assert_ne!(out.is_truncated(), Some(true), "the test's objects fit in one listing");
        out.contents()
            .iter()
            .map(|o| {
                let size = u64::try_from(o.size().expect("size")).expect("non-negative size");
                (o.key().expect("key").to_owned(), Listed { size, etag: o.e_tag().expect("etag").to_owned() })
            })
            .collect()
    }

    pub(crate) fn get(&self, key: &str) -> Vec<u8> {
        self.rt.block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(&self.name)
                .key(key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("getting {key}: {e:?}"));
            out.body.collect().await.expect("object body").into_bytes().to_vec()
        })
    }

    pub(crate) fn put(&self, key: &str, bytes: &[u8]) {
        let body = ByteStream::from(bytes.to_vec());
        self.rt
            .block_on(self.client.put_object().bucket(&self.name).key(key).body(body).send())
            .unwrap_or_else(|e| panic!("putting {key}: {e:?}"));
    }

    /// The server-side encryption S3 reports for `key` on HEAD.
    fn encryption(&self, key: &str) -> Option<ServerSideEncryption> {
        let head = self
            .rt
            .block_on(self.client.head_object().bucket(&self.name).key(key).send())
            .unwrap_or_else(|e| panic!("head {key}: {e:?}"));
        head.server_side_encryption().cloned()
    }

    /// The key of an `s3://` URI in this bucket.
    pub(crate) fn key_of<'a>(&self, uri: &'a str) -> &'a str {
        uri.strip_prefix(&format!("s3://{}/", self.name)).unwrap_or_else(|| panic!("{uri} is in bucket {}", self.name))
    }

    /// Checks that every file a manifest references (split files and channels) exists with
    /// the manifest's size; returns how many there are.
    fn assert_manifest_files_exist(&self, manifest: &Value) -> usize {
        let objects = self.objects();
        let splits = manifest["splits"].as_object().expect("splits");
        assert_eq!(splits.len(), 3, "train, validation and test: {splits:?}");
        let mut checked = 0;
        for (split, entry) in splits {
            let files = entry["files"].as_array().expect("files");
            assert!(!files.is_empty(), "{split} has a file");
            for file in files.iter().chain([&entry["channel"]]) {
                let uri = file["uri"].as_str().expect("uri");
                let key = self.key_of(uri);
                let stored = objects.get(key).unwrap_or_else(|| panic!("{uri} is referenced but not stored"));
                assert_eq!(Some(stored.size), file["size"].as_u64(), "{uri} has the manifest's size");
                checked += 1;
            }
        }
        checked
    }
}

#[test]
fn s3_init_register_partition_show_and_a_rerun_changes_nothing() {
    let moto = Moto::shared();
    let bucket = Bucket::fresh(moto);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let store = format!("s3://{}/team", bucket.name);

    let init = stdout_json(wb_env(d, moto).args(["init", "--store", &store, "--json"]));
    assert_eq!(init["store"], store.as_str());
    csv(d, "data.csv", &toy_csv(200));
    let reg =
        stdout_json(wb_env(d, moto).args([
            "dataset", "register", "toy", "--source", "data.csv", "--target", "label", "--key", "id", "--json",
        ]));
    assert_eq!(reg["created"], true);
    assert!(reg["source"]["uri"].as_str().expect("source uri").starts_with("file:///"), "{reg}");

    let part = stdout_json(wb_env(d, moto).args(["dataset", "partition", "toy", "--json"]));
    assert_eq!(part["created"], true);
    let show = stdout_json(wb_env(d, moto).args(["dataset", "show", "toy", "--json"]));
    assert_eq!(show["partition"]["fingerprint"], part["partition"]["fingerprint"]);
    let datasets = format!("s3://{}/team/datasets/toy/partitions/", bucket.name);
    let mut rows = 0;
    for (split, s) in show["partition"]["splits"].as_object().expect("splits") {
        for uri in s["files"].as_array().expect("files").iter().chain([&s["channel"], &s["channel_prefix"]]) {
            let uri = uri.as_str().expect("uri");
            assert!(uri.starts_with(&datasets), "{split}: {uri} is below {datasets}");
        }
        rows += s["rows"].as_u64().expect("rows");
    }
    assert_eq!(rows, 200, "every row lands in one split");

    // What S3 holds: everything below the store's prefix, encrypted, with the manifest's sizes.
    let objects = bucket.objects();
    for key in objects.keys() {
        assert!(key.starts_with("team/datasets/toy/"), "{key} is below the store prefix");
        assert_eq!(bucket.encryption(key), Some(ServerSideEncryption::Aes256), "{key} is stored with SSE-S3");
    }
    let manifest: Value =
        serde_json::from_slice(&bucket.get("team/datasets/toy/manifest.json")).expect("manifest is JSON");
    assert_eq!(manifest["fingerprint"], part["partition"]["fingerprint"]);
    assert_eq!(bucket.assert_manifest_files_exist(&manifest), 6, "3 split files and 3 channels");
    assert!(objects.contains_key("team/datasets/toy/dataset.json"), "{objects:?}");
    assert!(objects.contains_key("team/datasets/toy/source-index"), "the registration's source index: {objects:?}");

    // A second run finds the identical partition and writes nothing.
    let again = stdout_json(wb_env(d, moto).args(["dataset", "partition", "toy", "--json"]));
    assert_eq!(again["created"], false);
    assert_eq!(again["partition"]["fingerprint"], part["partition"]["fingerprint"]);
    assert_eq!(bucket.objects(), objects, "the second run changes no object (same keys, sizes and ETags)");
    let list = stdout_json(wb_env(d, moto).args(["dataset", "list", "--json"]));
    assert_eq!(list[0]["name"], "toy");
}

#[test]
fn s3_source_inside_the_store_with_settings_from_workbench_toml() {
    let moto = Moto::shared();
    let bucket = Bucket::fresh(moto);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // No AWS_ENDPOINT_URL or AWS_REGION: both come from the [aws] table.
    write_config(d, &format!("s3://{}/team", bucket.name), Some(moto.url()));
    bucket.put("team/raw/data.csv", toy_csv(120).as_bytes());
    let raw_before = bucket.objects()["team/raw/data.csv"].clone();

    let source = format!("s3://{}/team/raw/data.csv", bucket.name);
    let reg = stdout_json(
        wb_toml(d).args(["dataset", "register", "raw", "--source", &source, "--target", "label", "--json"]),
    );
    assert_eq!(reg["created"], true);
    assert_eq!(reg["source"]["uri"], source.as_str());
    assert_eq!(reg["source"]["size"], raw_before.size);
    let columns: Vec<&str> =
        reg["schema"].as_array().expect("schema").iter().map(|c| c["name"].as_str().expect("name")).collect();
    assert_eq!(columns, ["id", "colour", "size", "label"]);

    let part = stdout_json(wb_toml(d).args(["dataset", "partition", "raw", "--json"]));
    assert_eq!(part["created"], true);
    assert_eq!(part["source"], source.as_str());
    let total: u64 = ["train", "validation", "test"]
        .iter()
        .map(|s| part["partition"]["splits"][s]["rows"].as_u64().expect("rows"))
        .sum();
    assert_eq!(total, 120);
    let manifest: Value = serde_json::from_slice(&bucket.get("team/datasets/raw/manifest.json")).expect("manifest");
    assert_eq!(bucket.assert_manifest_files_exist(&manifest), 6);
    assert_eq!(bucket.objects()["team/raw/data.csv"], raw_before, "the source object is left as it was");

    // Models on the S3 store: trained, served by the local server reading the bucket, compared
    // on the test split, the report written into the bucket, the best promoted, then cleaned.
    struct Clean<'a>(&'a Path);
    impl Drop for Clean<'_> {
        fn drop(&mut self) {
            let _ = wb_toml(self.0).args(["clean", "--json"]).output();
        }
    }
    let _clean = Clean(d);
    for (name, algorithm) in [("s3-logistic", "logistic-regression"), ("s3-bayes", "gaussian-nb")] {
        stdout_json(wb_toml(d).args(["train", "--dataset", "raw", "--algorithm", algorithm, "--job", name, "--json"]));
        stdout_json(wb_toml(d).args(["deploy", "--job", name, "--endpoint", name, "--json"]));
        stdout_json(wb_toml(d).args(["register", name, "--endpoint", name, "--description", algorithm, "--json"]));
    }
    let compared =
        stdout_json(wb_toml(d).args(["compare", "--resamples", "50", "--importance-budget", "10", "--json"]));
    assert_eq!(compared["report"]["models"].as_array().expect("models").len(), 2, "{compared}");
    let id = compared["report"]["id"].as_str().expect("id");
    let uri = compared["location"]["uri"].as_str().expect("uri");
    assert_eq!(uri, format!("s3://{}/team/reports/compare/{id}", bucket.name));
    let objects = bucket.objects();
    for file in ["report.json", "report.md", "index.html", "predictions-s3-logistic.csv"] {
        assert!(objects.contains_key(&format!("team/reports/compare/{id}/{file}")), "{file} is in the bucket");
    }
    let best = compared["report"]["leaderboard"][0]["model"].as_str().expect("best");
    let promoted = stdout_json(wb_toml(d).args(["promote", best, "--json"]));
    assert_eq!(promoted["report"], format!("reports/compare/{id}").as_str());
    let cleaned = stdout_json(wb_toml(d).args(["clean", "--json"]));
    assert_eq!(cleaned["report"]["stopped_server"], true, "{cleaned}");
    assert!(!bucket.objects().keys().any(|k| k.starts_with("team/registry/")), "the registry is gone");
}

#[test]
fn s3_missing_bucket_is_one_error_line_naming_it() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let bucket = format!("wb-missing-{}", uuid::Uuid::now_v7().simple());
    write_config(d, &format!("s3://{bucket}/x"), None);
    csv(d, "data.csv", &toy_csv(50));

    let err = fails(wb_env(d, moto).args(["dataset", "list"]));
    assert!(err.contains(&format!("\"{bucket}\"")) && err.contains("does not exist"), "{err}");
    let err = fails(wb_env(d, moto).args(["dataset", "register", "toy", "--source", "data.csv", "--target", "label"]));
    assert!(err.contains(&format!("\"{bucket}\"")) && err.contains("does not exist"), "{err}");

    // `wb init` checks the bucket before writing any configuration.
    let fresh = tempfile::tempdir().expect("tempdir");
    let err = fails(wb_env(fresh.path(), moto).args(["init", "--store", &format!("s3://{bucket}/x")]));
    assert!(err.contains(&format!("\"{bucket}\"")) && err.contains("does not exist"), "{err}");
    assert!(!fresh.path().join("workbench.toml").exists(), "a failed init writes no workbench.toml");
}

#[test]
fn s3_unknown_credentials_are_denied_without_echoing_the_secret() {
    let moto = Moto::spawn_dedicated();
    let bucket = Bucket::fresh(&moto);
    moto.enable_auth();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write_config(d, &format!("s3://{}/team", bucket.name), None);
    csv(d, "data.csv", &toy_csv(50));

    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
    let denied = || {
        let mut cmd = wb_with_keys(d, "AKIAUNKNOWNKEY000000", secret);
        cmd.env("AWS_ENDPOINT_URL", moto.url()).env("AWS_REGION", "us-east-1");
        cmd
    };
    for args in [
        vec!["dataset", "list"],
        vec!["dataset", "register", "toy", "--source", "data.csv", "--target", "label"],
        vec!["dataset", "show", "toy", "--json"],
    ] {
        let err = fails(denied().args(&args));
        assert!(err.starts_with("error: access denied by s3://"), "{args:?}: {err}");
        assert!(!err.contains(secret), "{args:?}: the secret key never appears: {err}");
        // `list` sends ListObjectsV2 and HeadObject concurrently and reports whichever fails
        // first; a HEAD response has no body, so S3's error code is only there for the others.
        if !err.contains("during HeadObject") {
            assert!(err.contains("InvalidAccessKeyId"), "{args:?}: S3's error code is kept: {err}");
        }
    }
    // Not even in the libraries' debug and trace logs: neither the secret nor the key id
    // (which the SDK's own events print in resolved identities).
    for level in ["debug", "trace"] {
        let out =
            denied().env("WB_LOG", level).args(["dataset", "list"]).assert().failure().code(1).get_output().clone();
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.to_lowercase().contains("access denied"), "{log}");
        assert!(!log.contains(secret), "the secret key is not in the {level} log");
        assert!(log.contains("access_key_id: \"** redacted **\""), "the SDK's identity events are there, redacted");
        assert!(!log.contains("AKIAUNKNOWNKEY000000"), "the access key id is not in the {level} log");
    }
}

/// An unreachable endpoint is one line with a code and the cause, not the SDK's debug form.
#[test]
fn an_unreachable_aws_endpoint_is_one_line_with_the_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    write_config(d, "s3://nowhere/team", Some(&format!("http://127.0.0.1:{port}")));
    let err = fails(wb_toml(d).env("AWS_MAX_ATTEMPTS", "1").args(["dataset", "list"]));
    assert!(err.contains("ConnectionError") && err.contains("Connection refused"), "{err}");
    for debug_form in ["DispatchFailure", "dispatch failure", "ConnectorError", "TypeErasedBox", "source:"] {
        assert!(!err.contains(debug_form), "no debug form ({debug_form}): {err}");
    }
    assert!(err.len() < 400, "{} characters: {err}", err.len());
}
