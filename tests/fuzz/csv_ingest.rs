//! CSV ingest: what `wb etl ingest` and `wb dataset register` + `wb dataset partition` run on a
//! user's CSV — schema inference, CSV → Parquet, registration, the partition (split
//! assignment, Parquet splits, the encoding, the SageMaker CSV channels) and loading the
//! encoded splits back.
//!
//! Invariants checked besides "no panic, no hang": a failed ingest leaves nothing at the
//! destination (nor a temporary file beside it); a successful one reads back with as many rows
//! as it reports; a partition's splits hold every data row; an encoded split has one matrix row
//! per data row.

use std::sync::Arc;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use workbench::core::{DatasetName, DynObjectStore, LocalStore};
use workbench::datasets::{Datasets, PartitionSpec, RegisterRequest};
use workbench::etl::tabular::{CsvOptions, IngestOptions, infer_schema, ingest_csv, read_parquet};

use crate::driver::{DEFAULT_HANG_SECONDS, Runner, Target, Verdict};
use crate::mutate::{csv_field, csv_text, line_ending, mutated_from, ragged_rows};

pub(crate) const TARGET: Target = Target { name: "csv_ingest", runner, inputs, hang_seconds: DEFAULT_HANG_SECONDS };

/// Tokens the mutations insert.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b",",
    b",,",
    b"\n",
    b"\r\n",
    b"\r",
    "\u{feff}".as_bytes(),
    b"?",
    b"NaN",
    b"inf",
    b"-inf",
    b"1e309",
    b"9223372036854775808",
    b"true",
    b"FALSE",
    b"\xff",
    b"\0",
    "é".as_bytes(),
    b"y",
    b"id",
    b" ",
    b"1.5",
    b"-0",
    b"2024-01-31",
];

fn runner() -> Runner {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    Box::new(move |input| run(&runtime, input))
}

fn run(runtime: &tokio::runtime::Runtime, input: &[u8]) -> Verdict {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("data.csv");
    std::fs::write(&csv, input).expect("write the CSV");

    // `wb etl ingest`: schema inference and CSV → Parquet.
    let out = dir.path().join("out");
    let parquet = out.join("data.parquet");
    let ingested = ingest_csv(&csv, &parquet, &IngestOptions::default());
    let rows = match &ingested {
        Ok(report) => {
            let read: usize = read_parquet(&parquet, 1024)
                .expect("the Parquet written reads back")
                .map(|b| b.expect("a batch reads back").num_rows())
                .sum();
            assert_eq!(read as u64, report.rows, "the Parquet file holds the rows the report counts");
            Some(report.rows)
        }
        Err(_) => {
            assert!(!parquet.exists(), "a failed ingest leaves nothing at the destination");
            let left: Vec<_> =
                std::fs::read_dir(&out).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
            assert!(left.is_empty(), "a failed ingest leaves no temporary file: {left:?}");
            None
        }
    };

    // `wb dataset register` (the target is `y` when there is one, else the last column; `id`
    // is the key when there is one), then `wb dataset partition`, then loading the splits.
    // A continuous target is partitioned without stratification (`--no-stratify`).
    let columns: Vec<(String, String)> = infer_schema(&csv, &CsvOptions::default())
        .map(|s| s.fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect())
        .unwrap_or_default();
    let (target, target_type) = columns
        .iter()
        .find(|(c, _)| c == "y")
        .or_else(|| columns.last())
        .cloned()
        .unwrap_or_else(|| ("y".into(), "Utf8".into()));
    let key = (target != "id" && columns.iter().any(|(c, _)| c == "id")).then(|| "id".to_owned());
    let spec = PartitionSpec { stratify: target_type != "Float64", ..PartitionSpec::default() };
    let registered = runtime.block_on(async {
        let store: DynObjectStore = Arc::new(LocalStore::open(&dir.path().join("store")).map_err(|e| e.to_string())?);
        let datasets = Datasets::new(store);
        let name = DatasetName::parse("fuzz").map_err(|e| e.to_string())?;
        let request = RegisterRequest {
            name: name.clone(),
            source: csv.display().to_string(),
            target,
            key,
            missing: vec![String::new(), "?".into()],
            new_version: false,
            exclude: Vec::new(),
            optional: Vec::new(),
        };
        datasets.register(request).await.map_err(|e| e.to_string())?;
        let manifest = datasets.partition(&name).spec(spec).await.map_err(|e| e.to_string())?.manifest;
        if let Some(rows) = rows {
            let split_rows: u64 = manifest.splits.values().map(|s| s.rows).sum();
            assert_eq!(split_rows, rows, "the splits hold every row");
        }
        let dataset = datasets.open(&name).await.map_err(|e| e.to_string())?;
        for data in [dataset.train().await, dataset.validation().await, dataset.test_for_evaluation().await] {
            let data = data.map_err(|e| e.to_string())?;
            let matrix = data.features().map_err(|e| e.to_string())?;
            assert_eq!(matrix.nrows(), data.num_rows(), "one encoded row per data row");
        }
        Ok::<(), String>(())
    });
    ingested.map(drop).map_err(|e| format!("ingest: {e}"))?;
    registered.map_err(|e| format!("register/partition: {e}"))
}

/// What a generated column holds.
#[derive(Clone, Copy, Debug)]
enum Column {
    Int,
    Float,
    Bool,
    Text,
    Category,
    Wild,
}

fn column_field(kind: Column) -> BoxedStrategy<String> {
    let typed: BoxedStrategy<String> = match kind {
        Column::Int => (-50i64..50).prop_map(|v| v.to_string()).boxed(),
        Column::Float => (-1e3f64..1e3).prop_map(|v| format!("{v:.3}")).boxed(),
        Column::Bool => select(&["true", "false", "True", "FALSE"][..]).prop_map(String::from).boxed(),
        Column::Text => "[a-z]{1,6}( [a-z]{1,4})?".boxed(),
        Column::Category => select(&["red", "blue", "green", "\"a,b\""][..]).prop_map(String::from).boxed(),
        Column::Wild => csv_field(),
    };
    prop_oneof![
        24 => typed,
        1 => select(&["", "?"][..]).prop_map(String::from),
        1 => csv_field(),
    ]
    .boxed()
}

/// The target column's values.
fn target_field() -> BoxedStrategy<BoxedStrategy<String>> {
    prop_oneof![
        4 => Just(select(&["0", "1"][..]).prop_map(String::from).boxed()),
        2 => Just(select(&["yes", "no"][..]).prop_map(String::from).boxed()),
        2 => Just(select(&["a", "b", "c"][..]).prop_map(String::from).boxed()),
        2 => Just((-1e3f64..1e3).prop_map(|v| format!("{v:.2}")).boxed()),
        1 => Just(Just("1".to_owned()).boxed()),
        1 => Just(csv_field()),
    ]
    .boxed()
}

fn header_name() -> BoxedStrategy<String> {
    prop_oneof![
        12 => "[a-z]{1,8}",
        1 => select(&["", " ", "y", "id", "\"quoted,name\"", "\u{feff}x", "名前", "a\"b", "\"\"", "x y"][..]).prop_map(String::from),
    ]
    .boxed()
}

fn column_kind() -> BoxedStrategy<Column> {
    prop_oneof![
        3 => Just(Column::Int),
        3 => Just(Column::Float),
        1 => Just(Column::Bool),
        2 => Just(Column::Text),
        2 => Just(Column::Category),
        1 => Just(Column::Wild),
    ]
    .boxed()
}

/// A near-valid CSV: an optional `id` key, typed feature columns, the target `y`; a few wild
/// cells, ragged rows, odd line endings, a BOM.
fn csv_file() -> BoxedStrategy<Vec<u8>> {
    (vec((column_kind(), header_name()), 1..6), target_field(), any::<bool>(), 0usize..48)
        .prop_flat_map(|(columns, target, with_id, rows)| {
            let mut fields: Vec<BoxedStrategy<String>> = columns.iter().map(|(kind, _)| column_field(*kind)).collect();
            fields.push(target);
            let names: Vec<String> =
                columns.iter().map(|(_, name)| name.clone()).chain(std::iter::once("y".to_owned())).collect();
            (
                Just(names),
                Just(with_id),
                vec(fields, rows),
                prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
                (
                    any::<Index>(),
                    line_ending(),
                    prop_oneof![9 => Just(false), 1 => Just(true)],
                    any::<bool>(),
                    any::<bool>(),
                ),
            )
        })
        .prop_map(|(names, with_id, mut rows, ragged, (which, ending, bom, trailing, duplicate_ids))| {
            if with_id {
                for (i, row) in rows.iter_mut().enumerate() {
                    row.insert(0, if duplicate_ids { (i / 2).to_string() } else { i.to_string() });
                }
            }
            if !rows.is_empty() {
                let i = which.index(rows.len());
                match ragged {
                    1 => {
                        rows[i].pop();
                    }
                    2 => rows[i].push("extra".into()),
                    _ => {}
                }
            }
            let mut header = names;
            if with_id {
                header.insert(0, "id".into());
            }
            rows.insert(0, header);
            csv_text(&rows, ending, None, bom, trailing).into_bytes()
        })
        .boxed()
}

/// A header and rows of wild fields, with mixed line endings.
fn wild_file() -> BoxedStrategy<Vec<u8>> {
    (1usize..5)
        .prop_flat_map(|width| (ragged_rows(csv_field(), width, 1..12), any::<bool>()))
        .prop_map(|(rows, trailing)| csv_text(&rows, "\n", Some(&["\n", "\r\n", "\r"]), false, trailing).into_bytes())
        .boxed()
}

fn inputs(corpus: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let generated = csv_file();
    prop_oneof![
        4 => generated.clone(),
        4 => mutated_from(generated, corpus, TOKENS),
        1 => wild_file(),
    ]
    .boxed()
}
