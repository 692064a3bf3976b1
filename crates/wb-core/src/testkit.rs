//! Conformance suites that every backend implementation runs (feature `testkit`).
//!
//! Each suite is an async function taking the implementation as a trait object and a fresh
//! prefix to work under, and panicking with a message that names the broken rule. The local
//! store runs them in its own tests; `wb-aws` runs them against moto.

use bytes::Bytes;
use futures::future::join_all;

use crate::error::Error;
use crate::path::ObjectPath;
use crate::store::{ObjectStore, ObjectStoreExt, PutMode};

fn p(prefix: &str, rest: &str) -> ObjectPath {
    ObjectPath::parse(format!("{prefix}/{rest}")).expect("conformance paths are valid")
}

/// Runs every object-store rule against `store`, under `prefix` (which must be empty).
///
/// # Panics
/// When the store breaks a rule; the message says which.
pub async fn object_store_conformance(store: &dyn ObjectStore, prefix: &str) {
    put_get_head_round_trip(store, prefix).await;
    conditional_writes(store, prefix).await;
    listing(store, prefix).await;
    deletion(store, prefix).await;
    streaming_and_files(store, prefix).await;
    concurrent_creates_have_one_winner(store, prefix).await;
    concurrent_updates_lose_nothing(store, prefix).await;
}

async fn put_get_head_round_trip(store: &dyn ObjectStore, prefix: &str) {
    let path = p(prefix, "rt/hello.txt");
    let missing = store.get(&path).await.expect_err("get of a missing object fails");
    assert!(missing.is_not_found(), "missing object gives NotFound, got {missing:?}");
    assert!(store.head(&path).await.expect_err("head of missing").is_not_found());
    assert!(!store.exists(&path).await.expect("exists"));

    let put = store.put(&path, Bytes::from_static(b"hello")).await.expect("put");
    assert_eq!(put.size, 5, "put reports the size");
    let got = store.get(&path).await.expect("get");
    assert_eq!(&got.bytes[..], b"hello");
    assert_eq!(got.meta.etag, put.etag, "get returns the ETag that put reported");
    let head = store.head(&path).await.expect("head");
    assert_eq!((head.size, &head.etag), (5, &put.etag));

    let again = store.put(&path, Bytes::from_static(b"hello, world")).await.expect("overwrite");
    assert_ne!(again.etag, put.etag, "an overwrite changes the ETag");
    assert_eq!(&store.get(&path).await.expect("get").bytes[..], b"hello, world");

    let empty = p(prefix, "rt/empty");
    store.put(&empty, Bytes::new()).await.expect("empty put");
    assert_eq!(store.get(&empty).await.expect("get empty").bytes.len(), 0);

    let doc = p(prefix, "rt/doc.json");
    store.put_json(&doc, &serde_json::json!({"a": [1, 2]}), PutMode::Create).await.expect("put_json");
    let (value, _): (serde_json::Value, _) = store.get_json(&doc).await.expect("get_json");
    assert_eq!(value["a"][1], 2);
    store.put(&doc, Bytes::from_static(b"{not json")).await.expect("put");
    let err = store.get_json::<serde_json::Value>(&doc).await.expect_err("malformed JSON");
    assert!(matches!(err, Error::Json { .. }), "malformed JSON is reported as such: {err:?}");
}

async fn conditional_writes(store: &dyn ObjectStore, prefix: &str) {
    let path = p(prefix, "cond/doc.json");
    let first = store.put_opts(&path, Bytes::from_static(b"v1"), PutMode::Create).await.expect("create");
    let dup = store.put_opts(&path, Bytes::from_static(b"v2"), PutMode::Create).await.expect_err("second create");
    assert!(dup.is_already_exists(), "a second create gives AlreadyExists, got {dup:?}");
    assert_eq!(&store.get(&path).await.expect("get").bytes[..], b"v1", "a refused create changes nothing");

    let second =
        store.put_opts(&path, Bytes::from_static(b"v2"), PutMode::Update(first.etag.clone())).await.expect("update");
    let stale =
        store.put_opts(&path, Bytes::from_static(b"v3"), PutMode::Update(first.etag.clone())).await.expect_err("stale");
    assert!(stale.is_precondition_failed(), "a stale ETag gives PreconditionFailed, got {stale:?}");
    assert_eq!(&store.get(&path).await.expect("get").bytes[..], b"v2", "a refused update changes nothing");
    assert_ne!(first.etag, second.etag);

    let absent = p(prefix, "cond/absent.json");
    let err =
        store.put_opts(&absent, Bytes::from_static(b"x"), PutMode::Update(second.etag)).await.expect_err("absent");
    assert!(err.is_not_found(), "updating a missing object gives NotFound, got {err:?}");
    assert!(!store.exists(&absent).await.expect("exists"), "a refused update creates nothing");
}

async fn listing(store: &dyn ObjectStore, prefix: &str) {
    for name in ["ls/a/1", "ls/a/2", "ls/a/sub/3", "ls/ab/4", "ls/b"] {
        store.put(&p(prefix, name), Bytes::from(name.as_bytes().to_vec())).await.expect("put");
    }
    let under_a: Vec<String> =
        store.list(Some(&p(prefix, "ls/a"))).await.expect("list").into_iter().map(|m| m.path.to_string()).collect();
    let expect: Vec<String> = ["ls/a/1", "ls/a/2", "ls/a/sub/3"].iter().map(|n| format!("{prefix}/{n}")).collect();
    assert_eq!(under_a, expect, "list is segment-wise (ls/ab is not under ls/a) and sorted");
    let all = store.list(Some(&p(prefix, "ls"))).await.expect("list");
    assert_eq!(all.len(), 5);
    assert_eq!(all.iter().find(|m| m.path.as_str().ends_with("ls/b")).map(|m| m.size), Some(4), "sizes are listed");
    assert!(store.list(Some(&p(prefix, "nothing-here"))).await.expect("list").is_empty());
}

async fn deletion(store: &dyn ObjectStore, prefix: &str) {
    let path = p(prefix, "del/x");
    store.put(&path, Bytes::from_static(b"x")).await.expect("put");
    store.delete(&path).await.expect("delete");
    assert!(!store.exists(&path).await.expect("exists"), "deleted objects are gone");
    store.delete(&path).await.expect("deleting a missing object succeeds");
}

async fn streaming_and_files(store: &dyn ObjectStore, prefix: &str) {
    use futures::StreamExt;
    // Larger than one multipart part (S3's minimum is 5 MiB) so multipart paths run.
    let big: Vec<u8> = (0..(6 * 1024 * 1024 + 123)).map(|i: u32| (i % 251) as u8).collect();
    let dir = tempfile_dir();
    let src = dir.join("big.bin");
    std::fs::write(&src, &big).expect("write fixture");
    let path = p(prefix, "files/big.bin");
    let meta = store.put_file(&path, &src, PutMode::Create).await.expect("put_file");
    assert_eq!(meta.size, big.len() as u64);
    let again = store.put_file(&path, &src, PutMode::Create).await.expect_err("put_file create twice");
    assert!(again.is_already_exists(), "put_file honours Create, got {again:?}");
    let shared = store.put_immutable_file(&path, &src, PutMode::Create).await.expect_err("immutable create twice");
    assert!(shared.is_already_exists(), "put_immutable_file honours Create, got {shared:?}");
    let shared_path = p(prefix, "files/immutable.bin");
    let meta = store.put_immutable_file(&shared_path, &src, PutMode::Create).await.expect("put_immutable_file");
    assert_eq!(meta.size, big.len() as u64);
    std::fs::remove_file(&src).expect("remove the uploaded file");
    assert!(store.get(&shared_path).await.expect("get").bytes == big, "the object outlives its file");
    std::fs::write(&src, &big).expect("write fixture again");

    let (smeta, mut stream) = store.get_stream(&path).await.expect("get_stream");
    assert_eq!(smeta.size, big.len() as u64);
    let mut streamed = Vec::new();
    while let Some(chunk) = stream.next().await {
        streamed.extend_from_slice(&chunk.expect("chunk"));
    }
    assert!(streamed == big, "streamed bytes equal the uploaded file");

    let dest = dir.join("out/big.bin");
    store.get_to_file(&path, &dest).await.expect("get_to_file");
    assert!(std::fs::read(&dest).expect("read back") == big, "downloaded file equals the upload");
    let missing = store.get_stream(&p(prefix, "files/none")).await.err().expect("missing stream");
    assert!(missing.is_not_found());
    let _ = std::fs::remove_dir_all(&dir);
}

async fn concurrent_creates_have_one_winner(store: &dyn ObjectStore, prefix: &str) {
    let path = p(prefix, "race/create.json");
    let attempts = join_all((0..8).map(|i| {
        let path = path.clone();
        async move { store.put_opts(&path, Bytes::from(format!("writer {i}")), PutMode::Create).await }
    }))
    .await;
    let winners = attempts.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "exactly one concurrent create wins: {attempts:?}");
    assert!(attempts.iter().filter_map(|r| r.as_ref().err()).all(Error::is_already_exists));
}

async fn concurrent_updates_lose_nothing(store: &dyn ObjectStore, prefix: &str) {
    let path = p(prefix, "race/counter");
    store.put_opts(&path, Bytes::from_static(b"0"), PutMode::Create).await.expect("create counter");
    let writers = 4;
    let per_writer = 5;
    join_all((0..writers).map(|_| {
        let path = path.clone();
        async move {
            for _ in 0..per_writer {
                loop {
                    let got = store.get(&path).await.expect("get counter");
                    let n: u32 = std::str::from_utf8(&got.bytes).expect("utf8").parse().expect("number");
                    let next = Bytes::from((n + 1).to_string());
                    match store.put_opts(&path, next, PutMode::Update(got.meta.etag)).await {
                        Ok(_) => break,
                        Err(e) if e.is_precondition_failed() => continue,
                        Err(e) => panic!("unexpected error in compare-and-swap: {e:?}"),
                    }
                }
            }
        }
    }))
    .await;
    let final_value = store.get(&path).await.expect("get");
    assert_eq!(
        std::str::from_utf8(&final_value.bytes).expect("utf8"),
        (writers * per_writer).to_string(),
        "compare-and-swap increments from concurrent writers are never lost"
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wb-conformance-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
