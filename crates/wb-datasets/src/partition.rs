//! Partitioning a registered dataset once.
//!
//! Three streaming passes over the source, then an upload, then the manifest:
//!
//! 1. read only the target (and key) column and assign every row a split (see [`crate::assign`]);
//!    the memory cost is about five bytes per row, never the table. A CSV source registered
//!    with a source index ([`crate::source_index`]) is not read here at all: its chunks and
//!    each row's target come from the index;
//! 2. read all columns batch by batch, route each row to its split's Parquet writer and
//!    channel template ([`crate::channel`]), and gather train-only statistics for the shared
//!    encoding;
//! 3. fill each split's template with that encoding into its SageMaker CSV channel.
//!
//! The source must still be the registered bytes: a CSV file read in chunks is hashed from the
//! bytes its chunks read in pass 2 ([`wb_core::PieceHash`]), any other source on a thread of its
//! own, and nothing is stored unless the hash is the registered one.
//!
//! Files are staged in a local temporary directory, hashed while they are written, uploaded
//! under a prefix named after the partition fingerprint, and only then is the manifest written
//! — first the immutable per-version copy, then `datasets/<name>/manifest.json` with a
//! conditional write. A run killed at any point therefore never leaves a manifest that points
//! at missing or partial files, and two concurrent runs never mix their files.
//!
//! Concurrent runs with the same inputs share that prefix. Each object is therefore created
//! only if absent, and a run that loses the manifest write deletes only the objects it created
//! itself — never one an identical run (or an earlier version) put there, which that run may
//! be committing. Should an identical run with `new_version` commit objects a loser created,
//! whichever of the two looks last puts back what the loser deleted.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::future::{Future, IntoFuture};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::csv::reader::Format;
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use arrow::error::ArrowError;
use foldhash::fast::FixedState;
use wb_core::{ContentHash, ContentHasher, DatasetName, DynObjectStore, ObjectStoreExt, PieceHash, PutMode};
use wb_etl::tabular::{CsvBatches, CsvOptions};

use crate::assign::{self, KEYHASH_ALGORITHM, STRATIFIED_ALGORITHM};
use crate::channel::{self, Dictionary, Slot, Templates};
use crate::chunks::{self, Chunk, ChunkError, MissingTokens};
use crate::encoding::{CategoryCounts, Encoding, FeatureStats};
use crate::error::{Error, Result};
use crate::layout;
use crate::manifest::{
    DatasetRecord, FileEntry, MANIFEST_FORMAT, Manifest, PartitionInputs, SourceFormat, SplitManifest, Task,
};
use crate::plain::{PlainDecoder, Route};
use crate::source::{LocalSource, from_columns};
use crate::source_index::SourceIndex;
use crate::spec::{PartitionSpec, Split};
use crate::split_file::SplitFileWriter;

/// Rows per batch while partitioning. About sixteen batches are in flight between the decoding
/// threads and the split writers; 16 Ki rows keep that near 100 MB on the readmission table and
/// were as fast as 64 Ki rows (2.85 s against 2.97 s for 1M rows, 260 MB against 460 MB peak).
const BATCH_ROWS: usize = chunks::CHUNK_ROWS;

/// What a partition run did.
#[derive(Clone, Debug)]
pub struct PartitionOutcome {
    /// The dataset's manifest (new, or the existing one when nothing changed).
    pub manifest: Manifest,
    /// False when an identical partition already existed and nothing was written.
    pub created: bool,
}

/// A partition run, configured with builder methods and started with `.await`.
#[must_use = "a partition does nothing until awaited"]
pub struct Partition {
    pub(crate) store: DynObjectStore,
    pub(crate) name: DatasetName,
    pub(crate) spec: PartitionSpec,
    pub(crate) new_version: bool,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition").field("name", &self.name).field("spec", &self.spec).finish_non_exhaustive()
    }
}

impl Partition {
    /// Proportions, seed and stratification (defaults: 0.6/0.2/0.2, seed 42, stratified).
    pub fn spec(mut self, spec: PartitionSpec) -> Self {
        self.spec = spec;
        self
    }

    /// Allow replacing an existing partition made with different inputs by a new version.
    pub fn new_version(mut self, yes: bool) -> Self {
        self.new_version = yes;
        self
    }

    async fn run(self) -> Result<PartitionOutcome> {
        self.spec.validate()?;
        let store = self.store;
        let (record, _) = match store.get_json::<DatasetRecord>(&layout::record_path(&self.name)).await {
            Ok(found) => found,
            Err(e) if e.is_not_found() => return Err(Error::UnknownDataset { name: self.name.to_string() }),
            Err(e) => return Err(e.into()),
        };
        let algorithm = if record.key.is_some() { KEYHASH_ALGORITHM } else { STRATIFIED_ALGORITHM };
        let inputs = PartitionInputs { registration: record.clone(), spec: self.spec, algorithm: algorithm.into() };
        let fingerprint = inputs.fingerprint();

        let manifest_path = layout::manifest_path(&self.name);
        let existing = match store.get_json::<Manifest>(&manifest_path).await {
            Ok(found) => Some(found),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        if let Some((manifest, _)) = &existing
            && manifest.fingerprint != fingerprint
            && !self.new_version
        {
            return Err(Error::PartitionConflict {
                name: self.name.to_string(),
                differences: manifest.input_differences(&inputs),
            });
        }

        // The source must still be the registered bytes, and nothing is stored unless it is. A
        // CSV file read in chunks is hashed from the bytes the chunks read; any other source is
        // hashed on its own while the partition is computed (or after it, if the chunks did
        // not cover it).
        let source = Arc::new(LocalSource::fetch(store.as_ref(), &record.source.uri).await?);
        let hash_file = |source: Arc<LocalSource>| {
            tokio::task::spawn_blocking(move || ContentHash::of_file(&source.path).map_err(Error::from))
        };
        let verify = |now: ContentHash| -> Result<()> {
            if now == record.source.fingerprint {
                return Ok(());
            }
            Err(Error::SourceChanged {
                name: self.name.to_string(),
                source_name: record.source.uri.clone(),
                registered: record.source.fingerprint.to_string(),
                now: now.to_string(),
            })
        };
        let hashing_failed = |e| Error::data("hashing the source", e);
        if let Some((manifest, _)) = &existing
            && manifest.fingerprint == fingerprint
        {
            verify(hash_file(source.clone()).await.map_err(hashing_failed)??)?;
            tracing::info!(dataset = %self.name, "already partitioned with the same inputs; nothing to do");
            return Ok(PartitionOutcome { manifest: manifest.clone(), created: false });
        }

        let pid = fingerprint.short(16);
        let prefix = layout::partition_prefix(&self.name, &pid);
        tracing::info!(dataset = %self.name, partition = %pid, "partitioning");
        // A CSV source without a key column may have its targets in the source index (a key
        // decides splits by hash, so its pass reads the keys).
        let index = match (source.format, &record.key) {
            (SourceFormat::Csv, None) => SourceIndex::load(store.as_ref(), &self.name, &record).await?,
            _ => None,
        };
        let hashing = (source.format != SourceFormat::Csv).then(|| hash_file(source.clone()));
        let computed = {
            let (record, source) = (record.clone(), source.clone());
            let spec = self.spec;
            tokio::task::spawn_blocking(move || compute(&source, &record, spec, index))
        };
        let computed = computed.await.map_err(|e| Error::data("partitioning", e))?;
        // A changed source is what is reported, whatever else went wrong with it.
        let now = match (hashing, &computed) {
            (Some(hashing), _) => hashing.await.map_err(hashing_failed)??,
            (None, Ok(Computed { source_hash: Some(hash), .. })) => *hash,
            (None, _) => hash_file(source.clone()).await.map_err(hashing_failed)??,
        };
        verify(now)?;
        let computed = computed?;

        // Upload every file, then the manifests. Identical concurrent runs share these paths
        // (same inputs, same prefix, same bytes), so every file is created only if absent and a
        // run owns — and may later delete — only the objects it created itself.
        let mut splits = BTreeMap::new();
        let mut uploads = Vec::new();
        for (split, staged) in Split::ALL.iter().zip(&computed.splits) {
            let file_path = layout::split_file(&prefix, *split);
            let channel_path = layout::channel_file(&prefix, *split);
            let uri = |p: &wb_core::ObjectPath| store.uri().object_uri(p);
            splits.insert(
                *split,
                SplitManifest {
                    rows: staged.rows,
                    class_counts: staged.class_counts.clone(),
                    files: vec![staged.parquet.entry(file_path.clone(), uri(&file_path))],
                    channel: staged.channel.entry(channel_path.clone(), uri(&channel_path)),
                    channel_prefix: format!("{}/", uri(&layout::channel_dir(&prefix, *split))),
                },
            );
            uploads.push((file_path, &staged.parquet));
            uploads.push((channel_path, &staged.channel));
        }
        let mut owned = Vec::new();
        for (path, staged) in &uploads {
            if upload_shared(store.as_ref(), path, staged).await? {
                owned.push(path.clone());
            }
        }
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            dataset: self.name.clone(),
            version: existing.as_ref().map_or(1, |(m, _)| m.version + 1),
            fingerprint,
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            algorithm: algorithm.into(),
            registration: record,
            spec: self.spec,
            task: computed.task,
            features: computed.encoding,
            splits,
            previous: existing.as_ref().map(|(m, _)| m.fingerprint),
        };
        let version_path = layout::version_manifest(&prefix);
        let owns_version = put_version_manifest(store.as_ref(), &version_path, &manifest).await?;
        let mode = match &existing {
            Some((_, etag)) => PutMode::Update(etag.clone()),
            None => PutMode::Create,
        };
        match store.put_json(&manifest_path, &manifest, mode).await {
            Ok(_) => {
                if owned.len() < uploads.len() || !owns_version {
                    // Some objects were created by an identical concurrent run; should that
                    // run lose to a third one, it deletes them. Put back anything missing.
                    restore(store.as_ref(), &uploads, &version_path, &manifest).await?;
                }
                Ok(PartitionOutcome { manifest, created: true })
            }
            Err(e) if e.is_already_exists() || e.is_precondition_failed() => {
                // Another run committed first. Identical inputs: its manifest is ours.
                let (winner, _) = store.get_json::<Manifest>(&manifest_path).await?;
                if winner.fingerprint == manifest.fingerprint {
                    return Ok(PartitionOutcome { manifest: winner, created: false });
                }
                // Delete only what this run created: an object found in place belongs to an
                // identical run (or a committed earlier version) and may be committed by it.
                for path in &owned {
                    let _ = store.delete(path).await;
                }
                if owns_version {
                    let _ = store.delete(&version_path).await;
                }
                // An identical run that started after the winner (with `new_version`) may have
                // reused these objects and committed meanwhile: then put them back.
                if !owned.is_empty() || owns_version {
                    let (now, _) = store.get_json::<Manifest>(&manifest_path).await?;
                    if now.fingerprint == manifest.fingerprint {
                        restore(store.as_ref(), &uploads, &version_path, &now).await?;
                        return Ok(PartitionOutcome { manifest: now, created: false });
                    }
                }
                let mut differences = winner.input_differences(&inputs);
                differences.insert(0, "another partition run committed first".into());
                Err(Error::PartitionConflict { name: self.name.to_string(), differences })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// How many times an upload retries when an identical run deletes the object it found.
const SHARED_UPLOAD_ATTEMPTS: usize = 8;

/// Uploads a staged file at `path` unless an identical run already put it there: true when
/// this run created the object (and so owns it), false when it reused one of the same size.
async fn upload_shared(store: &dyn wb_core::ObjectStore, path: &wb_core::ObjectPath, staged: &Staged) -> Result<bool> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let found = match store.put_immutable_file(path, &staged.local, PutMode::Create).await {
            Ok(_) => return Ok(true),
            Err(e) if e.is_already_exists() => store.head(path).await,
            Err(e) => return Err(e.into()),
        };
        match found {
            Ok(meta) if meta.size == staged.size => return Ok(false),
            Ok(_) => {
                // Not this partition's bytes (a prefix collision or a damaged object): replace.
                match store.put_immutable_file(path, &staged.local, PutMode::Overwrite).await {
                    Ok(_) => return Ok(false),
                    Err(e) if e.is_not_found() && attempt < SHARED_UPLOAD_ATTEMPTS => {}
                    Err(e) => return Err(e.into()),
                }
            }
            // Deleted by the run that created it, which lost: create it again.
            Err(e) if e.is_not_found() && attempt < SHARED_UPLOAD_ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes the per-version manifest copy: true when this run created the object (and so owns
/// it), false when it replaced one an identical run (or an earlier version) wrote.
async fn put_version_manifest(
    store: &dyn wb_core::ObjectStore,
    path: &wb_core::ObjectPath,
    manifest: &Manifest,
) -> Result<bool> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let replaced = match store.put_json(path, manifest, PutMode::Create).await {
            Ok(_) => return Ok(true),
            Err(e) if e.is_already_exists() => store.put_json(path, manifest, PutMode::Overwrite).await,
            Err(e) => return Err(e.into()),
        };
        match replaced {
            Ok(_) => return Ok(false),
            // Deleted by the run that created it, which lost: create it again.
            Err(e) if e.is_not_found() && attempt < SHARED_UPLOAD_ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Puts back any of a committed partition's objects that a losing identical run deleted.
async fn restore(
    store: &dyn wb_core::ObjectStore,
    uploads: &[(wb_core::ObjectPath, &Staged)],
    version_path: &wb_core::ObjectPath,
    committed: &Manifest,
) -> Result<()> {
    for (path, staged) in uploads {
        if !store.exists(path).await? {
            upload_shared(store, path, staged).await?;
        }
    }
    if !store.exists(version_path).await? {
        put_version_manifest(store, version_path, committed).await?;
    }
    Ok(())
}

impl IntoFuture for Partition {
    type Output = Result<PartitionOutcome>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A staged local file with its hash.
struct Staged {
    local: PathBuf,
    hash: ContentHash,
    size: u64,
    rows: u64,
}

impl Staged {
    fn entry(&self, path: wb_core::ObjectPath, uri: String) -> FileEntry {
        FileEntry { path, uri, hash: self.hash, size: self.size, rows: self.rows }
    }
}

struct StagedSplit {
    rows: u64,
    class_counts: BTreeMap<String, u64>,
    parquet: Staged,
    channel: Staged,
}

struct Computed {
    _dir: wb_core::scratch::ScratchDir,
    /// The hash of the source's bytes as they were read, when they were read in chunks that
    /// cover the file (otherwise it is hashed on its own).
    source_hash: Option<ContentHash>,
    splits: Vec<StagedSplit>,
    task: Task,
    encoding: Encoding,
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: ContentHasher,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self { inner, hasher: ContentHasher::new(), bytes: 0 }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

thread_local! {
    /// A filling thread's template block and buffers, kept from one block to the next.
    static FILL_BUFFERS: std::cell::RefCell<(Vec<u8>, channel::FillBuffers)> = std::cell::RefCell::default();
}

/// Pass 3: fills the template of each split in `dir` (written by pass 2) with `encoding` into
/// its channel. The blocks of every template are filled on every core, in split order, and
/// written in order as they come; a channel is synced to disk on a thread of its own as soon as
/// its last block is written, while the next ones are filled.
fn fill_channels(dir: &Path, parquet_files: &[Staged], encoding: &Encoding) -> Result<Vec<Staged>> {
    let corrupt = |template: &Path| Error::data(template.display().to_string(), "a channel template is damaged");
    let filler = channel::Filler::new(encoding)
        .ok_or_else(|| Error::data("writing channels", "a category code of more than four digits"))?;
    let mut templates = Vec::new();
    let mut blocks = Vec::new();
    let mut outs = Vec::new();
    for (s, split) in Split::ALL.iter().enumerate() {
        let template = dir.join(format!("{split}.template"));
        let dest = dir.join(format!("{split}.csv"));
        blocks.extend(channel::blocks(&template)?.into_iter().map(|range| (s, range)));
        let file = File::open(&template).map_err(|e| Error::io("opening", &template, e))?;
        templates.push((template, file));
        outs.push((HashingWriter::new(create(&dest)?), dest));
    }
    let (filler, templates) = (&filler, &templates);
    std::thread::scope(|scope| -> Result<Vec<Staged>> {
        let filled = chunks::ordered(scope, blocks, chunks::threads(), move |(s, range)| -> Result<(usize, Vec<u8>)> {
            let (template, file) = &templates[s];
            FILL_BUFFERS.with_borrow_mut(|(block, buffers)| {
                let length = usize::try_from(range.end - range.start).map_err(|_| corrupt(template))?;
                block.resize(length, 0);
                std::os::unix::fs::FileExt::read_exact_at(file, block, range.start)
                    .map_err(|e| Error::io("reading", template, e))?;
                let n = filler.block(block, buffers).ok_or_else(|| corrupt(template))?;
                Ok((s, buffers.line[..n].to_vec()))
            })
        });
        let finish = |s: usize, (mut out, dest): (HashingWriter<BufWriter<File>>, PathBuf)| {
            let template = &templates[s].0;
            let rows = parquet_files[s].rows;
            scope.spawn(move || -> Result<Staged> {
                out.flush().map_err(|e| Error::io("writing", &dest, e))?;
                std::fs::remove_file(template).map_err(|e| Error::io("removing", template, e))?;
                out.inner.get_ref().sync_all().map_err(|e| Error::io("syncing", &dest, e))?;
                Ok(Staged { local: dest, hash: out.hasher.finish(), size: out.bytes, rows })
            })
        };
        // The channel being written, and those still to come, in split order.
        let mut outs = outs.into_iter().enumerate();
        let mut current = outs.next();
        let mut finishing = Vec::new();
        for text in filled {
            let (s, text) = text?;
            while let Some((c, out)) = current.take_if(|(c, _)| *c < s) {
                finishing.push(finish(c, out));
                current = outs.next();
            }
            let (_, (out, dest)) =
                current.as_mut().ok_or_else(|| Error::data("writing channels", "a block of no split"))?;
            out.write_all(&text).map_err(|e| Error::io("writing", &*dest, e))?;
        }
        finishing.extend(current.into_iter().chain(outs).map(|(c, out)| finish(c, out)));
        finishing
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::data("writing channels", "a writer thread panicked"))))
            .collect()
    })
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(1 << 20, File::create(path).map_err(|e| Error::io("creating", path, e))?))
}

/// A CSV source read in chunks: the open file, our decoder for plain chunks and Arrow's format
/// for the others.
struct ChunkedCsv<'a> {
    source: &'a LocalSource,
    schema: &'a SchemaRef,
    missing: &'a [String],
    file: File,
    format: Format,
    tokens: Option<MissingTokens>,
    plain: Option<PlainDecoder>,
    /// The file's length when it was opened.
    len: u64,
}

thread_local! {
    /// The bytes of the chunk a decoding thread is reading, kept from one chunk to the next.
    static CHUNK_BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<'a> ChunkedCsv<'a> {
    /// Checks the header as the sequential reader does (with the same errors) and opens the file.
    fn open(source: &'a LocalSource, schema: &'a SchemaRef, missing: &'a [String]) -> Result<Self> {
        let options = CsvOptions::with_missing(missing);
        CsvBatches::open(&source.path, schema.clone(), &options, None)?;
        let format = options.arrow_format()?;
        let tokens = MissingTokens::new(missing, options.delimiter, schema.fields().len());
        let plain = PlainDecoder::new(schema, options.delimiter, missing);
        let file = File::open(&source.path).map_err(|e| Error::io("opening", &source.path, e))?;
        let len = file.metadata().map_err(|e| Error::io("reading", &source.path, e))?.len();
        Ok(Self { source, schema, missing, file, format, tokens, plain, len })
    }

    /// Decodes one chunk into a batch of the `projection` columns.
    fn decode(&self, chunk: &Chunk, projection: Option<&[usize]>) -> std::result::Result<RecordBatch, ChunkError> {
        self.with_bytes(chunk, |bytes| {
            if let Some(batch) = self.plain.as_ref().and_then(|p| p.decode(bytes, chunk.rows, projection)) {
                return Ok(batch);
            }
            self.arrow_decode(std::mem::take(bytes), chunk.rows, projection)
        })
    }

    /// Decodes one chunk straight into the splits of its records (`labels`, one per record):
    /// the split's batch, `None` for a split without records. The text columns among
    /// `categories` may come dictionary-encoded.
    ///
    /// Also answers the hashes of the pieces of the file whose first byte is in the chunk (the
    /// first chunk's from the start of the file), hashed from the bytes decoded.
    fn decode_routed(
        &self,
        chunk: &Chunk,
        labels: &[u8],
        categories: &[usize],
    ) -> std::result::Result<([Option<RecordBatch>; 3], Vec<PieceHash>), ChunkError> {
        self.with_bytes(chunk, |bytes| {
            let pieces = PieceHash::of_range(&self.file, self.len, chunk.start, bytes, chunk.first_row == 0)
                .map_err(|e| ChunkError::Failed(Error::io("reading", &self.source.path, e)))?;
            if let Some(parts) = self
                .plain
                .as_ref()
                .and_then(|p| p.decode_routed(bytes, chunk.rows, None, &Route::Labels(labels), categories))
            {
                return Ok((parts, pieces));
            }
            let batch = self.arrow_decode(std::mem::take(bytes), chunk.rows, None)?;
            let parts =
                take_splits(&batch, labels).map_err(|e| ChunkError::Failed(Error::data(&self.source.uri, e)))?;
            Ok((parts, pieces))
        })
    }

    /// Decodes `bytes` (`rows` records) with Arrow, for what the plain decoder cannot read.
    fn arrow_decode(
        &self,
        bytes: Vec<u8>,
        rows: usize,
        projection: Option<&[usize]>,
    ) -> std::result::Result<RecordBatch, ChunkError> {
        chunks::decode(bytes, rows, self.schema, &self.format, self.tokens.as_ref(), projection)
    }

    /// Calls `decode` with the bytes of `chunk`, read into the buffer this thread keeps (Arrow's
    /// decoder, which takes the bytes, leaves it empty).
    fn with_bytes<T>(
        &self,
        chunk: &Chunk,
        decode: impl FnOnce(&mut Vec<u8>) -> std::result::Result<T, ChunkError>,
    ) -> std::result::Result<T, ChunkError> {
        CHUNK_BYTES.with_borrow_mut(|bytes| {
            chunks::read_into(&self.file, &self.source.path, chunk, bytes)?;
            decode(bytes)
        })
    }

    /// The error to report for a chunk that failed. Records that did not decode are read
    /// again sequentially, up to the failure, so the message names the file's line as the
    /// sequential reader does.
    fn explain(&self, e: ChunkError, projection: Option<Vec<usize>>) -> Error {
        match e {
            ChunkError::Failed(e) => e,
            ChunkError::Decode => match self.source.batches(self.schema, self.missing, projection, BATCH_ROWS) {
                Err(e) => e,
                Ok(mut batches) => batches.find_map(Result::err).unwrap_or_else(|| {
                    Error::data(&self.source.uri, "a chunk of the file did not decode, but the whole file does")
                }),
            },
        }
    }
}

/// Routed batches in source order, from whichever reader the source allows.
type RoutedBatches<'a> = Box<dyn Iterator<Item = std::result::Result<Routed, ChunkError>> + 'a>;

/// One batch of the source routed to the splits.
struct Routed {
    /// The batch's rows of each split, in order (`None` when it has none).
    parts: [Option<Part>; 3],
    /// Category counts of the train rows, per categorical feature (by feature index).
    categories: Vec<(usize, CategoryCounts)>,
    /// Rows of each class, per split (classification targets).
    class_counts: [Vec<u64>; 3],
    /// The hashes of the pieces of the source whose first byte the batch's chunk holds (see
    /// [`PieceHash::of_range`]).
    pieces: Vec<PieceHash>,
}

/// A batch of one split's rows, with their channel template block (see [`crate::channel`])
/// and the dictionaries of its text columns the block was made with.
struct Part {
    batch: RecordBatch,
    template: Vec<u8>,
    dictionaries: Vec<(usize, Dictionary)>,
}

/// Routes batches to splits by their rows' labels (on any thread).
struct Router<'a> {
    source: &'a LocalSource,
    record: &'a DatasetRecord,
    labels: &'a [u8],
    /// (feature index, column index) of the categorical features.
    categorical: &'a [(usize, usize)],
    /// The target's column and its classes (classification).
    classes: Option<(usize, &'a ClassIndex)>,
    /// Channel templates of the splits' rows.
    templates: &'a Templates,
}

impl Router<'_> {
    /// The labels of the `n` rows from `offset`, refusing rows that pass 1 did not see.
    fn labels(&self, offset: usize, n: usize) -> Result<&[u8]> {
        self.labels.get(offset..offset + n).ok_or_else(|| Error::SourceChanged {
            name: self.record.name.to_string(),
            source_name: self.source.uri.clone(),
            registered: format!("{} rows", self.labels.len()),
            now: "more rows on the second read".into(),
        })
    }

    /// Routes a batch of the source starting at row `offset`.
    fn route(&self, batch: RecordBatch, offset: usize) -> Result<Routed> {
        let n = batch.num_rows();
        let parts = take_splits(&batch, self.labels(offset, n)?).map_err(|e| Error::data(&self.source.uri, e))?;
        self.routed(parts)
    }

    /// The routed form of a batch already split: each part's channel template, and the train
    /// rows' category counts.
    fn routed(&self, parts: [Option<RecordBatch>; 3]) -> Result<Routed> {
        let mut categories = Vec::new();
        let mut routed: [Option<Part>; 3] = Default::default();
        let mut class_counts: [Vec<u64>; 3] = Default::default();
        for (s, part) in parts.into_iter().enumerate() {
            let Some(part) = part else { continue };
            let classes = match self.classes {
                Some((column, index)) => Some(index.of(part.column(column)).map_err(|now| Error::SourceChanged {
                    name: self.record.name.to_string(),
                    source_name: self.source.uri.clone(),
                    registered: format!("the classes {}", index.names.join(", ")),
                    now: format!("a target of {now} on the second read"),
                })?),
                None => None,
            };
            if let (Some(classes), Some((_, index))) = (&classes, self.classes) {
                let counts = &mut class_counts[s];
                counts.resize(index.names.len(), 0);
                for &c in classes {
                    counts[c as usize] += 1;
                }
            }
            let mut template = Vec::new();
            let train = s == Split::Train.index();
            let block = self.templates.block(&part, classes.as_deref(), &mut template, train)?;
            if let Some(counts) = block.counts {
                categories = self.categorical.iter().map(|&(f, _)| f).zip(counts).collect();
            }
            routed[s] = Some(Part { batch: part, template, dictionaries: block.dictionaries });
        }
        Ok(Routed { parts: routed, categories, class_counts, pieces: Vec::new() })
    }
}

/// The classes of a classification target and the index of each: pass 1 finds them
/// ([`ClassIndex::extend`]) and sorts them ([`ClassIndex::sort`]); pass 2, whose rows' class
/// indices are not kept from pass 1 (four bytes a row), looks each row's up again
/// ([`ClassIndex::of`]). Integer targets are matched by value, without formatting every value
/// as text; anything else by the text Arrow's cast gives it.
#[derive(Debug, Default)]
struct ClassIndex {
    /// The classes' names, by index.
    names: Vec<String>,
    by_name: HashMap<String, u32, FixedState>,
    by_int: HashMap<i64, u32, FixedState>,
}

impl ClassIndex {
    /// Appends the class index of every value of `target` (no nulls) to `out`, adding the
    /// classes not seen yet.
    fn extend(&mut self, target: &dyn Array, out: &mut Vec<u32>) -> std::result::Result<(), ArrowError> {
        if let Some(ints) = target.as_primitive_opt::<Int64Type>() {
            for &v in ints.values() {
                let id = match self.by_int.get(&v) {
                    Some(&id) => id,
                    None => {
                        let id = self.add(v.to_string());
                        self.by_int.insert(v, id);
                        id
                    }
                };
                out.push(id);
            }
            return Ok(());
        }
        let text = arrow::compute::cast(target, &DataType::Utf8)?;
        for v in text.as_string::<i32>().iter().flatten() {
            let id = match self.by_name.get(v) {
                Some(&id) => id,
                None => self.add(v.to_owned()),
            };
            out.push(id);
        }
        Ok(())
    }

    fn add(&mut self, name: String) -> u32 {
        if let Some(&id) = self.by_name.get(&name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.by_name.insert(name.clone(), id);
        self.names.push(name);
        id
    }

    /// Renumbers the classes in sorted order (numerically when every name is an integer) and
    /// answers the new index of each old one.
    fn sort(&mut self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        let numeric: Option<Vec<i64>> = self.names.iter().map(|l| l.parse().ok()).collect();
        match numeric {
            Some(values) => order.sort_by_key(|&i| values[i as usize]),
            None => order.sort_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize])),
        }
        let mut remap = vec![0u32; self.names.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        self.names = order.iter().map(|&i| self.names[i as usize].clone()).collect();
        for id in self.by_name.values_mut().chain(self.by_int.values_mut()) {
            *id = remap[*id as usize];
        }
        remap
    }

    /// The class index of every row of `target`; `Err` with a value (or `null`) that is not a
    /// class.
    fn of(&self, target: &dyn Array) -> std::result::Result<Vec<u32>, String> {
        if let Some(ints) = target.as_primitive_opt::<Int64Type>() {
            return ints
                .iter()
                .map(|v| match v {
                    Some(v) => self.by_int.get(&v).copied().ok_or_else(|| format!("{:?}", v.to_string())),
                    None => Err("null".to_owned()),
                })
                .collect();
        }
        let text = arrow::compute::cast(target, &DataType::Utf8).map_err(|e| e.to_string())?;
        text.as_string::<i32>()
            .iter()
            .map(|v| match v {
                Some(v) => self.by_name.get(v).copied().ok_or_else(|| format!("{v:?}")),
                None => Err("null".to_owned()),
            })
            .collect()
    }
}

/// The rows of `batch` of each split (`labels`, one per row), in order; `None` for a split
/// without rows.
fn take_splits(
    batch: &RecordBatch,
    labels: &[u8],
) -> std::result::Result<[Option<RecordBatch>; 3], arrow::error::ArrowError> {
    let n = batch.num_rows();
    let mut indices: [Vec<u32>; 3] = Default::default();
    for (i, &label) in labels.iter().enumerate() {
        indices[usize::from(label)].push(i as u32);
    }
    let mut parts: [Option<RecordBatch>; 3] = Default::default();
    for (s, ix) in indices.into_iter().enumerate() {
        if ix.is_empty() {
            continue;
        }
        parts[s] = Some(if ix.len() == n {
            batch.clone()
        } else {
            arrow::compute::take_record_batch(batch, &UInt32Array::from(ix))?
        });
    }
    Ok(parts)
}

/// Writes the batches received to a Parquet file at `path`, hashing it, and their channel
/// template blocks to `template`: (path, hash, bytes).
fn write_parquet(
    path: &Path,
    template: &Path,
    schema: SchemaRef,
    batches: std::sync::mpsc::Receiver<Part>,
) -> Result<(PathBuf, ContentHash, u64)> {
    let sink = HashingWriter::new(create(path)?);
    let mut templates = create(template)?;
    let mut writer = SplitFileWriter::try_new(sink, schema, path)?;
    for Part { batch, template: block, dictionaries } in batches {
        writer.write(&batch, &dictionaries)?;
        templates.write_all(&block).map_err(|e| Error::io("writing", template, e))?;
    }
    templates.flush().map_err(|e| Error::io("writing", template, e))?;
    let sink = writer.into_inner()?;
    let HashingWriter { inner, hasher, bytes } = sink;
    // Synced here, while other threads work, so that storing it later has nothing to wait for.
    let file = inner.into_inner().map_err(|e| Error::io("writing", path, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("syncing", path, e))?;
    Ok((path.to_owned(), hasher.finish(), bytes))
}

/// Target classes (or regression) and each row's class index.
struct Targets {
    task: Task,
    /// The classes (classification; empty for regression).
    index: ClassIndex,
    /// Per row: class index (classification) or 0 (regression).
    classes: Vec<u32>,
    /// Per row: split label, when a key decided it.
    key_splits: Option<Vec<u8>>,
}

/// Pass 1: every row's target class (and key split), from `chunks` in parallel when the
/// source is a CSV file that splits at line ends, otherwise sequentially.
fn read_targets(
    source: &LocalSource,
    record: &DatasetRecord,
    schema: &SchemaRef,
    spec: &PartitionSpec,
    chunks: Option<&[Chunk]>,
) -> Result<Targets> {
    let (target_index, regression) = target_column(source, record, schema, spec)?;
    let key_index = match &record.key {
        Some(key) => Some(schema.index_of(key).map_err(|e| Error::data(&source.uri, e))?),
        None => None,
    };
    let mut projection = vec![target_index];
    projection.extend(key_index);
    projection.sort_unstable();
    let target_pos = projection.iter().position(|&i| i == target_index).expect("target is projected");
    let key_pos = key_index.map(|k| projection.iter().position(|&i| i == k).expect("key is projected"));

    let mut index = ClassIndex::default();
    // One entry per row: sized once when the chunks tell the row count (a vector doubling
    // as it grows would briefly hold half as much again).
    let rows = chunks.map_or(0, |c| c.iter().map(|c| c.rows).sum());
    let mut classes: Vec<u32> = Vec::with_capacity(rows);
    let mut key_splits = key_pos.map(|_| Vec::with_capacity(rows));
    let mut absorb = |batch: RecordBatch, row: u64| -> Result<()> {
        let target = batch.column(target_pos);
        if let Some(i) = (0..target.len()).find(|&i| target.is_null(i)) {
            return Err(Error::MissingValue {
                source_name: source.uri.clone(),
                location: source.location(row + i as u64),
                column: record.target.clone(),
                role: "target",
            });
        }
        if regression {
            classes.extend(std::iter::repeat_n(0, target.len()));
        } else {
            index.extend(target, &mut classes).map_err(|e| Error::data(&source.uri, e))?;
        }
        if let (Some(pos), Some(out)) = (key_pos, key_splits.as_mut()) {
            let keys =
                arrow::compute::cast(batch.column(pos), &DataType::Utf8).map_err(|e| Error::data(&source.uri, e))?;
            for (i, k) in keys.as_string::<i32>().iter().enumerate() {
                let Some(k) = k else {
                    return Err(Error::MissingValue {
                        source_name: source.uri.clone(),
                        location: source.location(row + i as u64),
                        column: record.key.clone().unwrap_or_default(),
                        role: "key",
                    });
                };
                out.push(assign::split_for_key(k, spec.seed, spec.proportions()).index() as u8);
            }
        }
        Ok(())
    };
    match chunks {
        Some(chunks) => {
            // Only the target (and key) column is built, on every core.
            let csv = ChunkedCsv::open(source, schema, &record.missing)?;
            std::thread::scope(|scope| -> Result<()> {
                let decoded = chunks::ordered(scope, chunks.to_vec(), chunks::threads(), |chunk| {
                    let batch = csv.decode(&chunk, Some(&projection));
                    (chunk.first_row, batch)
                });
                for (row, batch) in decoded {
                    match batch {
                        Ok(batch) => absorb(batch, row)?,
                        Err(e) => return Err(csv.explain(e, Some(projection.clone()))),
                    }
                }
                Ok(())
            })?;
        }
        None => {
            let mut row = 0u64;
            for batch in source.batches(schema, &record.missing, Some(projection), BATCH_ROWS)? {
                let batch = batch?;
                let n = batch.num_rows() as u64;
                absorb(batch, row)?;
                row += n;
            }
        }
    }
    if classes.is_empty() {
        return Err(Error::BadSource { source_name: source.uri.clone(), reason: "it has no data rows".into() });
    }
    Ok(Targets::sorted(regression, index, classes, key_splits))
}

/// The target's column and whether it is a regression target (refused when stratifying).
fn target_column(
    source: &LocalSource,
    record: &DatasetRecord,
    schema: &SchemaRef,
    spec: &PartitionSpec,
) -> Result<(usize, bool)> {
    let target_index = schema.index_of(&record.target).map_err(|e| Error::data(&source.uri, e))?;
    let target_type = schema.field(target_index).data_type().clone();
    let regression = matches!(target_type, DataType::Float16 | DataType::Float32 | DataType::Float64)
        || matches!(target_type, DataType::Decimal128(..) | DataType::Decimal256(..));
    if regression && spec.stratify {
        return Err(Error::UnsuitableColumn {
            source_name: source.uri.clone(),
            column: record.target.clone(),
            data_type: format!("{target_type} (continuous: pass --no-stratify to partition a regression target)"),
            role: "stratification target",
        });
    }
    Ok((target_index, regression))
}

impl Targets {
    /// The targets, with class indices renumbered to follow the sorted classes.
    fn sorted(regression: bool, mut index: ClassIndex, mut classes: Vec<u32>, key_splits: Option<Vec<u8>>) -> Self {
        let task = if regression {
            Task::Regression
        } else {
            let remap = index.sort();
            for c in &mut classes {
                *c = remap[*c as usize];
            }
            Task::Classification { classes: index.names.clone() }
        };
        Self { task, index, classes, key_splits }
    }
}

/// Pass 1 from the source index: every row's class from its target text's id, each distinct
/// text decoded once, as the decoder reads a cell; `None` when the decoder does not read one
/// of them (the file is then read as without an index).
fn targets_from_index(
    source: &LocalSource,
    record: &DatasetRecord,
    schema: &SchemaRef,
    spec: &PartitionSpec,
    index: &SourceIndex,
) -> Result<Option<Targets>> {
    let (target_index, regression) = target_column(source, record, schema, spec)?;
    let column = Arc::new(schema.project(&[target_index]).map_err(|e| Error::data(&source.uri, e))?);
    let delimiter = CsvOptions::with_missing(&record.missing).delimiter;
    let Some(decoder) = PlainDecoder::new(&column, delimiter, &record.missing) else { return Ok(None) };
    let mut text = index.values.join("\n");
    text.push('\n');
    let Some(decoded) = decoder.decode(text.as_bytes(), index.values.len(), None) else { return Ok(None) };
    let values = decoded.column(0);
    if values.null_count() > 0
        && let Some(row) = index.ids.iter().position(|&id| values.is_null(usize::from(id)))
    {
        return Err(Error::MissingValue {
            source_name: source.uri.clone(),
            location: source.location(row as u64),
            column: record.target.clone(),
            role: "target",
        });
    }
    let mut class_index = ClassIndex::default();
    let classes = if regression {
        vec![0; index.ids.len()]
    } else {
        let mut of_value = Vec::with_capacity(values.len());
        class_index.extend(values.as_ref(), &mut of_value).map_err(|e| Error::data(&source.uri, e))?;
        index.ids.iter().map(|&id| of_value[usize::from(id)]).collect()
    };
    Ok(Some(Targets::sorted(regression, class_index, classes, None)))
}

/// Refuses an assignment in which a split with a positive proportion has no row of some class
/// (the stratified algorithm never does this; key hashing and unstratified shuffles can).
fn check_every_class_in_every_split(
    target: &str,
    classes: &[String],
    rows: &[u32],
    labels: &[u8],
    proportions: [f64; 3],
) -> Result<()> {
    let mut counts = vec![vec![0u64; classes.len()]; 3];
    for (&class, &split) in rows.iter().zip(labels) {
        counts[split as usize][class as usize] += 1;
    }
    for (split, per_class) in Split::ALL.iter().zip(&counts) {
        if proportions[split.index()] <= 0.0 {
            continue;
        }
        if let Some(missing) = per_class.iter().position(|&n| n == 0) {
            return Err(Error::EmptyClassInSplit {
                target: target.to_owned(),
                split: split.to_string(),
                class: classes[missing].clone(),
                counts: classes.iter().zip(per_class).map(|(c, n)| format!("{c}: {n}")).collect::<Vec<_>>().join(", "),
            });
        }
    }
    Ok(())
}

fn compute(
    source: &LocalSource,
    record: &DatasetRecord,
    spec: PartitionSpec,
    index: Option<SourceIndex>,
) -> Result<Computed> {
    let schema = from_columns(&record.schema)?;
    let started = std::time::Instant::now();
    // The registration's source index gives the chunks and every row's target without reading
    // the file; otherwise a CSV file whose line ends are record ends is scanned for its chunks
    // and its targets decoded on every core.
    let indexed = match index {
        Some(index) => targets_from_index(source, record, &schema, &spec, &index)?.map(|t| (index.chunks, t)),
        None => None,
    };
    let from_index = indexed.is_some();
    let (chunks, targets) = match indexed {
        Some((chunks, targets)) => (Some(chunks), targets),
        None => {
            let chunks = match source.format {
                SourceFormat::Csv => chunks::split(&source.path, BATCH_ROWS)?,
                SourceFormat::Parquet => None,
            };
            let targets = read_targets(source, record, &schema, &spec, chunks.as_deref())?;
            (chunks, targets)
        }
    };
    tracing::info!(
        rows = targets.classes.len(),
        from_index,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "pass 1: targets read"
    );
    let class_count = match &targets.task {
        Task::Classification { classes } => classes.len(),
        Task::Regression => 1,
    };

    if let Task::Classification { classes } = &targets.task
        && classes.len() < 2
    {
        let mut counts = vec![0u64; classes.len()];
        for &c in &targets.classes {
            counts[c as usize] += 1;
        }
        return Err(Error::TooFewClasses {
            target: record.target.clone(),
            classes: classes.len(),
            counts: classes.iter().zip(&counts).map(|(c, n)| format!("{c}: {n}")).collect::<Vec<_>>().join(", "),
        });
    }

    // Pass 1 result: a split per row.
    let labels: Vec<u8> = match &targets.key_splits {
        Some(splits) => splits.clone(),
        None if spec.stratify => {
            if let Task::Classification { classes } = &targets.task {
                let mut counts = vec![0u64; classes.len()];
                for &c in &targets.classes {
                    counts[c as usize] += 1;
                }
                let needed = spec.proportions().iter().filter(|p| **p > 0.0).count();
                if let Some((c, &n)) = counts.iter().enumerate().find(|(_, n)| (**n as usize) < needed) {
                    return Err(Error::ClassTooSmall {
                        target: record.target.clone(),
                        class: classes[c].clone(),
                        rows: n,
                        splits: needed,
                    });
                }
            }
            assign::stratified(&targets.classes, class_count, spec.proportions(), spec.seed)
        }
        None => assign::stratified(&vec![0; targets.classes.len()], 1, spec.proportions(), spec.seed),
    };
    if let Task::Classification { classes } = &targets.task {
        check_every_class_in_every_split(&record.target, classes, &targets.classes, &labels, spec.proportions())?;
    }
    let mut class_counts = vec![vec![0u64; class_count]; 3];
    for (&label, &class) in labels.iter().zip(&targets.classes) {
        class_counts[usize::from(label)][class as usize] += 1;
    }
    // Pass 2 needs a row's split, not its class (read again from its target): free the row's
    // class index before the batches are in flight.
    let Targets { task, index: class_index, classes: row_classes, .. } = targets;
    drop(row_classes);

    // Pass 2: route rows to split files; fit the encoding on train rows.
    let dir = wb_core::scratch::ScratchDir::create("partition")?;
    let features = record.feature_columns();
    let feature_index: Vec<usize> =
        features.iter().map(|f| schema.index_of(f).map_err(|e| Error::data(&source.uri, e))).collect::<Result<_>>()?;
    let mut stats: Vec<FeatureStats> =
        feature_index.iter().map(|&i| FeatureStats::for_type(schema.field(i).data_type())).collect();
    let categorical: Vec<(usize, usize)> = stats
        .iter()
        .zip(&feature_index)
        .enumerate()
        .filter(|(_, (stat, _))| stat.is_categorical())
        .map(|(f, (_, &col))| (f, col))
        .collect();
    let target_index = schema.index_of(&record.target).map_err(|e| Error::data(&source.uri, e))?;
    let slots: Vec<Slot> = stats
        .iter()
        .zip(&feature_index)
        .map(|(stat, &col)| if stat.is_categorical() { Slot::Categorical(col) } else { Slot::Numeric(col) })
        .collect();
    let (classes, regression_target) = match &task {
        Task::Classification { .. } => (Some((target_index, &class_index)), None),
        Task::Regression => (None, Some(target_index)),
    };
    let templates = Templates::new(slots, regression_target);
    let router = Router { source, record, labels: &labels, categorical: &categorical, classes, templates: &templates };
    let mut row_counts = [0u64; 3];
    // The rows of each class per split as pass 2 reads them, to be pass 1's.
    let mut read_class_counts: [Vec<u64>; 3] = Default::default();
    let csv = match &chunks {
        Some(_) => Some(ChunkedCsv::open(source, &schema, &record.missing)?),
        None => None,
    };
    // The source's bytes are hashed as the chunks read them, a piece at a time.
    let mut source_pieces: Vec<PieceHash> = Vec::new();
    // Decoding and routing run on every core (or, for sources that cannot be split, on a
    // thread of their own); this thread keeps the order-dependent statistics; each split's
    // Parquet file is encoded on a thread of its own.
    let parquet_files = std::thread::scope(|scope| -> Result<Vec<Staged>> {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for split in Split::ALL {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Part>(2);
            let path = dir.path().join(format!("{split}.parquet"));
            let template = dir.path().join(format!("{split}.template"));
            let schema = schema.clone();
            senders.push(tx);
            handles.push(scope.spawn(move || write_parquet(&path, &template, schema, rx)));
        }
        let routed: RoutedBatches<'_> = match &chunks {
            Some(chunks) => {
                let csv = csv.as_ref().expect("opened with the chunks");
                let router = &router;
                // Categorical features are built dictionary-encoded: their templates and split
                // files are written from the dictionaries.
                let categories: Vec<usize> = categorical.iter().map(|&(_, column)| column).collect();
                Box::new(chunks::ordered(scope, chunks.clone(), chunks::threads(), move |chunk| {
                    let offset = chunk.first_row as usize;
                    let labels = router.labels(offset, chunk.rows).map_err(ChunkError::Failed)?;
                    let (parts, pieces) = csv.decode_routed(&chunk, labels, &categories)?;
                    let mut routed = router.routed(parts).map_err(ChunkError::Failed)?;
                    routed.pieces = pieces;
                    Ok(routed)
                }))
            }
            None => {
                let batches = source.batches(&schema, &record.missing, None, BATCH_ROWS)?;
                let (tx, rx) = std::sync::mpsc::sync_channel(2);
                let router = &router;
                scope.spawn(move || {
                    let mut offset = 0usize;
                    for batch in batches {
                        let routed = batch.and_then(|b| {
                            let n = b.num_rows();
                            let r = router.route(b, offset);
                            offset += n;
                            r
                        });
                        let failed = routed.is_err();
                        if tx.send(routed.map_err(ChunkError::Failed)).is_err() || failed {
                            break;
                        }
                    }
                });
                Box::new(rx.into_iter())
            }
        };
        let consumed: Result<()> = 'consume: {
            for routed in routed {
                let routed = match routed {
                    Ok(r) => r,
                    Err(ChunkError::Failed(e)) => break 'consume Err(e),
                    Err(e) => break 'consume Err(csv.as_ref().expect("only chunks fail to decode").explain(e, None)),
                };
                let Routed { parts, categories, class_counts, pieces } = routed;
                source_pieces.extend(pieces);
                for (f, counts) in categories {
                    stats[f].merge(counts);
                }
                for (read, counts) in read_class_counts.iter_mut().zip(class_counts) {
                    read.resize(read.len().max(counts.len()), 0);
                    for (r, n) in read.iter_mut().zip(counts) {
                        *r += n;
                    }
                }
                for (s, part) in parts.into_iter().enumerate() {
                    let Some(part) = part else { continue };
                    if s == Split::Train.index() {
                        for (stat, &col) in stats.iter_mut().zip(&feature_index) {
                            if !stat.is_categorical()
                                && let Err(e) = stat.update(part.batch.column(col).as_ref())
                            {
                                break 'consume Err(e);
                            }
                        }
                    }
                    row_counts[s] += part.batch.num_rows() as u64;
                    if senders[s].send(part).is_err() {
                        // The writer stopped: its error is reported below.
                        break 'consume Ok(());
                    }
                }
            }
            Ok(())
        };
        drop(senders);
        let written: Vec<Result<(PathBuf, ContentHash, u64)>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::data("writing split files", "a writer thread panicked"))))
            .collect();
        consumed?;
        written
            .into_iter()
            .zip(row_counts)
            .map(|(w, rows)| w.map(|(local, hash, size)| Staged { local, hash, size, rows }))
            .collect()
    })?;
    let encoding = Encoding(
        stats
            .into_iter()
            .zip(&feature_index)
            .map(|(s, &i)| s.finish(schema.field(i).name(), schema.field(i).data_type()))
            .collect(),
    );

    let read_class_counts: Vec<Vec<u64>> = read_class_counts
        .into_iter()
        .map(|mut read| {
            read.resize(class_count, 0);
            read
        })
        .collect();
    if matches!(task, Task::Classification { .. }) && read_class_counts != class_counts {
        let counts = |c: &[Vec<u64>]| format!("{c:?}");
        return Err(if from_index {
            Error::data(
                format!("the source index of dataset {:?}", record.name.as_str()),
                format!(
                    "its targets give {} rows per split and class, the source has {} (remove {} and partition again)",
                    counts(&class_counts),
                    counts(&read_class_counts),
                    layout::source_index_path(&record.name)
                ),
            )
        } else {
            Error::SourceChanged {
                name: record.name.to_string(),
                source_name: source.uri.clone(),
                registered: format!("{} rows per split and class", counts(&class_counts)),
                now: format!("{} on the second read", counts(&read_class_counts)),
            }
        });
    }
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "pass 2: split files written");
    // Pass 3: channels from the templates.
    let channels = fill_channels(dir.path(), &parquet_files, &encoding)?;
    let mut splits = Vec::new();
    for ((parquet, channel), counts) in parquet_files.into_iter().zip(channels).zip(&class_counts) {
        let class_counts = match &task {
            Task::Classification { classes } => classes.iter().cloned().zip(counts.iter().copied()).collect(),
            Task::Regression => BTreeMap::new(),
        };
        splits.push(StagedSplit { rows: parquet.rows, class_counts, parquet, channel });
    }
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "pass 3: channels written");
    let source_hash = match (&chunks, &csv) {
        (Some(chunks), Some(csv)) if chunks.last().is_some_and(|c| c.end == csv.len) => {
            ContentHash::of_pieces(csv.len, &source_pieces)
        }
        _ => None,
    };
    Ok(Computed { _dir: dir, source_hash, splits, task, encoding })
}
