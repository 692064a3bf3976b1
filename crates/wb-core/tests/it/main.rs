//! Integration tests of wb-core: the local store runs the shared conformance suite.

use wb_core::LocalStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_passes_the_object_store_conformance_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(dir.path()).expect("open");
    wb_core::testkit::object_store_conformance(&store, "conformance").await;
}

#[tokio::test]
async fn local_store_is_shared_across_processes_through_the_filesystem() {
    // Two store handles on one directory see each other's writes and respect each other's
    // conditional writes (as two `wb` processes would).
    use bytes::Bytes;
    use wb_core::{ObjectPath, ObjectStore, PutMode};
    let dir = tempfile::tempdir().expect("tempdir");
    let a = LocalStore::open(dir.path()).expect("open a");
    let b = LocalStore::open(dir.path()).expect("open b");
    let path = ObjectPath::parse("x/y.json").expect("path");
    let made = a.put_opts(&path, Bytes::from_static(b"1"), PutMode::Create).await.expect("create");
    assert!(b.put_opts(&path, Bytes::from_static(b"2"), PutMode::Create).await.expect_err("dup").is_already_exists());
    b.put_opts(&path, Bytes::from_static(b"2"), PutMode::Update(made.etag.clone())).await.expect("cas");
    assert!(a.put_opts(&path, Bytes::from_static(b"3"), PutMode::Update(made.etag)).await.is_err());
}
