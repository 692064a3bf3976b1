//! Integration tests of the S3 store against moto (provisioned by `wb_aws::testkit`), and of
//! SageMaker Runtime through the SDK (`runtime.rs`).

mod backend;
mod hosting;
mod monitoring;
mod policy;
mod registry;
mod runtime;
mod training;

use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Credentials, Intercept, RuntimeComponents, SharedCredentialsProvider};
use aws_sdk_s3::error::BoxError;
use bytes::Bytes;
use wb_aws::testkit::{Moto, s3_client};
use wb_aws::{Encryption, MIN_PART_SIZE, S3Store};
use wb_core::{Error, ObjectPath, ObjectStore, PutMode, StoreUri};

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn path(s: &str) -> ObjectPath {
    ObjectPath::parse(s).expect("valid test path")
}

fn kms() -> Encryption {
    Encryption::Kms { key_id: KMS_KEY.to_owned() }
}

/// A file of `len` deterministic bytes in a fresh temporary directory.
fn fixture(len: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("data.bin");
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, bytes).expect("write fixture");
    (dir, file)
}

/// Asserts that the object at `path` is stored with `encryption`, as S3 reports it on HEAD.
async fn assert_encrypted(store: &S3Store, path: &ObjectPath, encryption: &Encryption) {
    let head = store
        .client()
        .head_object()
        .bucket(store.bucket())
        .key(store.object_key(path))
        .send()
        .await
        .expect("head_object");
    assert_eq!(
        head.server_side_encryption(),
        Some(&encryption.server_side_encryption()),
        "{path} is stored with the store's server-side encryption"
    );
    assert_eq!(head.ssekms_key_id(), encryption.kms_key_id(), "{path} carries the KMS key id (if any)");
}

async fn open_multipart_uploads(store: &S3Store) -> Vec<String> {
    let out =
        store.client().list_multipart_uploads().bucket(store.bucket()).send().await.expect("list_multipart_uploads");
    out.uploads().iter().filter_map(|u| u.key().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_with_sse_s3() {
    let store = Moto::shared().s3_store(Encryption::SseS3).await;
    wb_core::testkit::object_store_conformance(&store, "conformance").await;
    assert!(open_multipart_uploads(&store).await.is_empty(), "the suite leaves no multipart uploads behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_with_kms() {
    let store = Moto::shared().s3_store(kms()).await;
    wb_core::testkit::object_store_conformance(&store, "conformance").await;
    assert!(open_multipart_uploads(&store).await.is_empty(), "the suite leaves no multipart uploads behind");
}

async fn every_put_is_encrypted(encryption: Encryption) {
    let store = Moto::shared().s3_store(encryption.clone()).await;
    let put = path("enc/put.txt");
    store.put(&put, Bytes::from_static(b"hello")).await.expect("put");
    assert_encrypted(&store, &put, &encryption).await;

    let created = path("enc/create.json");
    store.put_opts(&created, Bytes::from_static(b"{}"), PutMode::Create).await.expect("create");
    assert_encrypted(&store, &created, &encryption).await;

    let (_small_dir, small) = fixture(1024);
    let small_path = path("enc/small.bin");
    store.put_file(&small_path, &small, PutMode::Overwrite).await.expect("small put_file");
    assert_encrypted(&store, &small_path, &encryption).await;

    let (_big_dir, big) = fixture(usize::try_from(MIN_PART_SIZE).expect("fits") + 4096);
    let big_path = path("enc/big.bin");
    let meta = store.put_file(&big_path, &big, PutMode::Overwrite).await.expect("multipart put_file");
    assert!(meta.etag.0.ends_with("-2\""), "a 5 MiB + 4 KiB file goes up in two parts: {}", meta.etag);
    assert_encrypted(&store, &big_path, &encryption).await;
    let got = store.get(&big_path).await.expect("get multipart object");
    assert!(got.bytes == std::fs::read(&big).expect("read fixture"), "the multipart object has the file's bytes");
    assert_eq!(got.meta.etag, meta.etag, "put_file reports the stored ETag");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_put_carries_sse_s3() {
    every_put_is_encrypted(Encryption::SseS3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_put_carries_the_kms_key() {
    every_put_is_encrypted(kms()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bucket_is_store_missing() {
    let moto = Moto::shared();
    let bucket = format!("wb-missing-{}", uuid::Uuid::now_v7().simple());
    let uri = StoreUri::parse(&format!("s3://{bucket}/wb")).expect("valid URI");
    let store = S3Store::from_sdk_config(&moto.sdk_config(), &uri, Encryption::SseS3).expect("S3 URI");
    let p = path("a/b.json");
    let (_dir, file) = fixture(10);
    let failures = [
        ("put", store.put(&p, Bytes::from_static(b"x")).await.expect_err("put")),
        ("get", store.get(&p).await.expect_err("get")),
        ("list", store.list(None).await.expect_err("list")),
        ("put_file", store.put_file(&p, &file, PutMode::Create).await.expect_err("put_file")),
    ];
    for (op, err) in failures {
        assert!(matches!(err, Error::StoreMissing { .. }), "{op} on a missing bucket gives StoreMissing: {err:?}");
        assert!(err.to_string().contains(&bucket), "{op}: the message names the bucket: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_credentials_are_access_denied() {
    let moto = Moto::spawn_dedicated();
    let bucket = moto.fresh_bucket().await;
    moto.enable_auth();

    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
    let sdk = moto
        .sdk_config()
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIAUNKNOWNKEY000000",
            secret,
            None,
            None,
            "test",
        )))
        .build();
    let store = S3Store::new(s3_client(&sdk), bucket.clone(), Some(path("wb")), Encryption::SseS3);
    let p = path("a/b.json");
    let failures = [
        ("put", store.put(&p, Bytes::from_static(b"x")).await.expect_err("put")),
        ("get", store.get(&p).await.expect_err("get")),
        ("head", store.head(&p).await.expect_err("head")),
        ("list", store.list(None).await.expect_err("list")),
    ];
    for (op, err) in failures {
        assert!(matches!(err, Error::AccessDenied { .. }), "{op} with unknown credentials: {err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(secret), "{op}: the secret key never appears in errors: {text}");
        if op != "head" {
            // HEAD responses have no body, so only the status says what happened.
            assert!(text.contains("InvalidAccessKeyId"), "{op}: S3's error code is kept: {text}");
        }
    }
    // With auth on, the harness's own static test keys are unknown to moto's IAM as well.
    let with_test_keys = S3Store::new(moto.s3_client(), bucket, None, Encryption::SseS3);
    let err = with_test_keys.put(&p, Bytes::from_static(b"x")).await.expect_err("auth is on");
    assert!(matches!(err, Error::AccessDenied { operation: "PutObject", .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_never_leaves_the_store_prefix() {
    let store = Moto::shared().s3_store(Encryption::SseS3).await;
    let client = store.client();
    // Objects outside the prefix `wb`: a sibling prefix, another tree, and the key `wb` itself.
    for key in ["wbx/a", "other/wb/a", "wb", "wb/.hidden/x"] {
        client
            .put_object()
            .bucket(store.bucket())
            .key(key)
            .body(Bytes::from_static(b"x").into())
            .send()
            .await
            .expect("raw put");
    }
    for p in ["a", "a/b", "a/bc", "z"] {
        store.put(&path(p), Bytes::from(p.as_bytes().to_vec())).await.expect("put");
    }
    let names = |metas: Vec<wb_core::ObjectMeta>| metas.into_iter().map(|m| m.path.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names(store.list(None).await.expect("list")),
        ["a", "a/b", "a/bc", "z"],
        "only objects below the prefix, sorted, without keys that are not object paths"
    );
    assert_eq!(
        names(store.list(Some(&path("a"))).await.expect("list a")),
        ["a", "a/b", "a/bc"],
        "the object named by the prefix is listed with those below it"
    );
    assert_eq!(names(store.list(Some(&path("a/b"))).await.expect("list a/b")), ["a/b"], "a/bc is not below a/b");
    assert!(store.list(Some(&path("x"))).await.expect("list x").is_empty());

    let root = S3Store::new(client.clone(), store.bucket(), None, Encryption::SseS3);
    let all = names(root.list(None).await.expect("list bucket"));
    assert!(all.contains(&"wbx/a".to_owned()) && all.contains(&"wb/a/bc".to_owned()), "{all:?}");
    assert!(!all.iter().any(|n| n.contains(".hidden")), "invalid keys are skipped: {all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_multipart_puts_leave_nothing_behind() {
    let store = Moto::shared().s3_store(Encryption::SseS3).await;
    let (_dir, file) = fixture(usize::try_from(MIN_PART_SIZE).expect("fits") + 1);
    let p = path("mp/object.bin");
    let first = store.put_file(&p, &file, PutMode::Create).await.expect("first multipart create");

    let err = store.put_file(&p, &file, PutMode::Create).await.expect_err("second create");
    assert!(err.is_already_exists(), "a refused multipart create gives AlreadyExists: {err:?}");
    assert!(open_multipart_uploads(&store).await.is_empty(), "the refused create left no upload");
    assert_eq!(store.head(&p).await.expect("head").etag, first.etag, "the refused create changed nothing");

    let (_dir2, other) = fixture(usize::try_from(MIN_PART_SIZE).expect("fits") + 7);
    let updated = store.put_file(&p, &other, PutMode::Update(first.etag.clone())).await.expect("multipart update");
    assert_ne!(updated.etag, first.etag);
    assert_eq!(store.head(&p).await.expect("head").etag, updated.etag);
    let stale = store.put_file(&p, &file, PutMode::Update(first.etag.clone())).await.expect_err("stale update");
    assert!(stale.is_precondition_failed(), "a stale multipart update gives PreconditionFailed: {stale:?}");
    assert_eq!(store.head(&p).await.expect("head").etag, updated.etag, "the refused update changed nothing");

    let absent = path("mp/absent");
    let missing = store.put_file(&absent, &other, PutMode::Update(first.etag)).await.expect_err("absent");
    assert!(missing.is_not_found(), "a multipart update of a missing object gives NotFound: {missing:?}");
    assert!(!store.exists(&absent).await.expect("exists"));
    assert!(open_multipart_uploads(&store).await.is_empty(), "refused updates left no upload");
}

/// Writes `key` with another client just before a `CompleteMultipartUpload` goes out: another
/// writer wins the race between the store's early check and its completion.
#[derive(Debug)]
struct WriteBeforeComplete {
    sdk: aws_config::SdkConfig,
    bucket: String,
    key: String,
    done: AtomicBool,
}

impl Intercept for WriteBeforeComplete {
    fn name(&self) -> &'static str {
        "WriteBeforeComplete"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = ctx.request();
        let completing = request.method() == "POST" && request.uri().contains("uploadId=");
        if completing && !self.done.swap(true, Ordering::SeqCst) {
            let (sdk, bucket, key) = (self.sdk.clone(), self.bucket.clone(), self.key.clone());
            // The hook is synchronous: write from a thread with its own runtime and wait for it.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async {
                    let body = aws_sdk_s3::primitives::ByteStream::from_static(b"the other writer");
                    s3_client(&sdk).put_object().bucket(bucket).key(key).body(body).send().await.map(|_| ())
                })?;
                Ok::<(), BoxError>(())
            })
            .join()
            .map_err(|_| BoxError::from("the racing writer panicked"))??;
        }
        Ok(())
    }
}

/// Fails the upload of part 2, as a network failure would.
#[derive(Debug)]
struct FailPartTwo;

impl Intercept for FailPartTwo {
    fn name(&self) -> &'static str {
        "FailPartTwo"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if ctx.request().uri().contains("partNumber=2") {
            return Err("injected failure of part 2".into());
        }
        Ok(())
    }
}

/// A store on a fresh bucket whose client runs `interceptor`.
async fn store_with(moto: &Moto, bucket: &str, interceptor: impl Intercept + 'static) -> S3Store {
    let config =
        aws_sdk_s3::config::Builder::from(&moto.sdk_config()).force_path_style(true).interceptor(interceptor).build();
    S3Store::new(aws_sdk_s3::Client::from_conf(config), bucket, Some(path("wb")), Encryption::SseS3)
        .with_multipart(MIN_PART_SIZE, MIN_PART_SIZE)
        .expect("valid multipart settings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_loses_at_complete_is_aborted() {
    let moto = Moto::shared();
    let bucket = moto.fresh_bucket().await;
    let p = path("race/object.bin");
    let racer = WriteBeforeComplete {
        sdk: moto.sdk_config(),
        bucket: bucket.clone(),
        key: format!("wb/{p}"),
        done: AtomicBool::new(false),
    };
    let store = store_with(moto, &bucket, racer).await;
    let (_dir, file) = fixture(usize::try_from(MIN_PART_SIZE).expect("fits") + 1);

    let err = store.put_file(&p, &file, PutMode::Create).await.expect_err("the other writer won");
    assert!(err.is_already_exists(), "a create refused at CompleteMultipartUpload gives AlreadyExists: {err:?}");
    assert!(open_multipart_uploads(&store).await.is_empty(), "the refused upload was aborted");
    let got = store.get(&p).await.expect("the winner's object");
    assert_eq!(&got.bytes[..], b"the other writer", "the winner's object is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_part_aborts_the_upload() {
    let moto = Moto::shared();
    let bucket = moto.fresh_bucket().await;
    let store = store_with(moto, &bucket, FailPartTwo).await;
    let (_dir, file) = fixture(usize::try_from(2 * MIN_PART_SIZE).expect("fits") + 1);
    let p = path("broken/object.bin");

    let err = store.put_file(&p, &file, PutMode::Overwrite).await.expect_err("part 2 fails");
    assert!(
        matches!(&err, Error::Backend { operation: "UploadPart", .. }),
        "a failed part is a backend failure of UploadPart: {err:?}"
    );
    assert!(open_multipart_uploads(&store).await.is_empty(), "the failed upload was aborted");
    assert!(!store.exists(&p).await.expect("exists"), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_file_of_a_missing_file_is_an_io_error() {
    let store = Moto::shared().s3_store(Encryption::SseS3).await;
    let err = store
        .put_file(&path("x"), std::path::Path::new("/nonexistent/wb-aws/file"), PutMode::Overwrite)
        .await
        .expect_err("missing file");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(store.list(None).await.expect("list").is_empty(), "nothing was written");
}

#[test]
fn the_harness_python_has_every_pinned_requirement() {
    let python = wb_aws::testkit::python();
    // The distributions' names (`moto[server]==5.2.5` → `moto`), and moto and pyarrow import.
    let names: Vec<&str> = wb_aws::testkit::REQUIREMENTS
        .iter()
        .filter_map(|r| r.split("==").next())
        .map(|d| d.split('[').next().unwrap_or(d))
        .collect();
    let script = format!(
        "import importlib.metadata as m, moto, numpy, pyarrow, pyarrow.parquet; print(*[m.version(d) for d in {names:?}])"
    );
    let out = std::process::Command::new(&python)
        .args(["-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pins: Vec<&str> = wb_aws::testkit::REQUIREMENTS.iter().filter_map(|r| r.split("==").nth(1)).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>(), pins);
}
