//! The Parquet `wb` writes is Parquet that pyarrow reads: checked with the pinned pyarrow of the
//! test harness's virtual environment (`wb_aws::testkit::python`), an implementation
//! independent of the Rust `parquet` crate that wrote the files.

use std::path::{Path, PathBuf};

use serde_json::{Value, json as j};

use crate::local::{csv, json, wb};

/// Reads each file named on the command line with `pyarrow.parquet.read_table` and prints, as
/// one JSON array, its row count, column names and Arrow types (and, with `--data`, its values).
const READ_WITH_PYARROW: &str = r#"
import json
import sys

import pyarrow
import pyarrow.parquet as pq

data = sys.argv[1] == "--data"
out = []
for path in sys.argv[2:]:
    table = pq.read_table(path)
    entry = {
        "path": path,
        "rows": table.num_rows,
        "columns": table.column_names,
        "types": [str(field.type) for field in table.schema],
        "pyarrow": pyarrow.__version__,
    }
    if data:
        entry["data"] = table.to_pydict()
    out.append(entry)
json.dump(out, sys.stdout, default=str)  # timestamps as text
"#;

/// What pyarrow says about each of `files`.
pub(crate) fn read_with_pyarrow(files: &[PathBuf], data: bool) -> Vec<Value> {
    let python = wb_aws::testkit::python();
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(READ_WITH_PYARROW)
        .arg(if data { "--data" } else { "--no-data" })
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "pyarrow could not read {files:?} ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let read = json(&out.stdout);
    let entries = read.as_array().expect("a JSON array").clone();
    assert_eq!(entries.len(), files.len());
    for entry in &entries {
        assert_eq!(entry["pyarrow"], wb_aws::testkit::PYARROW_REQUIREMENT.trim_start_matches("pyarrow=="));
    }
    entries
}

fn local_path(uri: &Value) -> PathBuf {
    let uri = uri.as_str().expect("file uri");
    PathBuf::from(uri.strip_prefix("file://").unwrap_or_else(|| panic!("{uri} is a file:// URI")))
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().expect("array").iter().map(|v| v.as_str().expect("string").to_owned()).collect()
}

#[test]
fn pyarrow_reads_every_split_of_the_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = json(&wb(dir.path()).args(["demo", "--dir", "d", "--json"]).assert().success().get_output().stdout);
    let dataset = &demo["dataset"];
    let mut schema = strings(&dataset["features"]);
    schema.push(dataset["target"].as_str().expect("target").to_owned());
    assert_eq!(schema.len(), 12, "11 features and good: {schema:?}");
    assert_eq!(schema.last().map(String::as_str), Some("good"));

    let splits = dataset["partition"]["splits"].as_object().expect("splits");
    let mut files = Vec::new();
    let mut expected_rows = Vec::new();
    for (split, s) in splits {
        for file in s["files"].as_array().expect("files") {
            files.push(local_path(file));
            expected_rows.push((split.clone(), s["rows"].as_u64().expect("rows")));
        }
    }
    assert_eq!(files.len(), 3, "one Parquet file per split");
    let read = read_with_pyarrow(&files, false);
    for ((split, rows), entry) in expected_rows.iter().zip(&read) {
        assert_eq!(entry["rows"], *rows, "{split}: pyarrow reads the manifest's row count ({entry})");
        assert_eq!(strings(&entry["columns"]), schema, "{split}: the dataset's columns, in order");
        assert!(strings(&entry["types"])[..11].iter().all(|t| t == "double"), "{split}: features are doubles: {entry}");
    }
    let total: u64 = read.iter().map(|e| e["rows"].as_u64().expect("rows")).sum();
    assert_eq!(total, 1599);

    // The demo's own ingested Parquet (the dataset's source) too.
    let source = read_with_pyarrow(&[local_path(&dataset["source"])], false);
    assert_eq!(source[0]["rows"], 1599);
    assert_eq!(strings(&source[0]["columns"]), schema);
}

#[test]
fn pyarrow_reads_what_etl_ingest_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d: &Path = dir.path();
    csv(
        d,
        "small.csv",
        "id,name,score,flag,code\n1,alpha,0.5,true,A\n2,?,1.25,false,B\n3,gamma,?,,A\n4,delta,-3,true,C\n",
    );
    csv(d, "codes.csv", "code,description\nA,first\nB,second\nC,third\n");
    let ingest = json(
        &wb(d)
            .args(["etl", "ingest", "small.csv", "--to", "small.parquet", "--lookup", "code=codes.csv", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let read = read_with_pyarrow(&[d.join("small.parquet")], true);
    let table = &read[0];
    assert_eq!(table["rows"], 4);
    assert_eq!(table["rows"], ingest["rows"]);
    let columns: Vec<String> = ingest["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c[0].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(strings(&table["columns"]), columns, "the columns ingest reports");
    assert_eq!(strings(&table["types"]), ["int64", "string", "double", "bool", "string"]);
    assert_eq!(
        table["data"],
        j!({
            "id": [1, 2, 3, 4],
            "name": ["alpha", null, "gamma", "delta"],
            "score": [0.5, 1.25, null, -3.0],
            "flag": [true, false, null, true],
            "code": ["first", "second", "first", "third"],
        }),
        "pyarrow reads the values, nulls for the missing tokens and the looked-up descriptions"
    );

    // A larger file with many columns, as the benchmarks use.
    wb(d)
        .args(["etl", "synth", "readmission", "--rows", "2500", "--to", "r.csv", "--mapping", "ids.csv"])
        .assert()
        .success();
    let ingest = json(
        &wb(d)
            .args(["etl", "ingest", "r.csv", "--to", "r.parquet", "--lookup", "admission_type_id=ids.csv", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let read = read_with_pyarrow(&[d.join("r.parquet")], false);
    assert_eq!(read[0]["rows"], 2500);
    let columns: Vec<&str> =
        ingest["columns"].as_array().expect("columns").iter().map(|c| c[0].as_str().expect("name")).collect();
    assert_eq!(strings(&read[0]["columns"]), columns);
}

/// Compares every split file of a partition with the source CSV, read with Python's `csv`
/// module (`?` missing): each split row must hold its source row's values (matched by `id`).
/// Prints the rows compared, the mismatches and each column's Parquet encodings.
const COMPARE_SPLITS_WITH_SOURCE: &str = r#"
import csv
import json
import sys

import pyarrow.parquet as pq

with open(sys.argv[1], newline="") as f:
    source = {row["id"]: row for row in csv.DictReader(f)}
rows, mismatches, encodings = 0, [], {}
for path in sys.argv[2:]:
    table = pq.read_table(path).to_pydict()
    for i, id_ in enumerate(table["id"]):
        rows += 1
        expected = source[str(id_)]
        for column, values in table.items():
            want = None if expected[column] == "?" else expected[column]
            got = values[i]
            if column in ("cat", "long") and got != want:
                mismatches.append([path, id_, column, got, want])
    metadata = pq.ParquetFile(path).metadata
    for column in ("cat", "long"):
        chunk = metadata.row_group(0).column(metadata.schema.names.index(column))
        encodings.setdefault(column, set()).update(chunk.encodings)
json.dump({"rows": rows, "mismatches": mismatches[:5], "encodings": {c: sorted(e) for c, e in encodings.items()}}, sys.stdout)
"#;

#[test]
fn pyarrow_reads_the_text_columns_of_every_split_as_the_source_holds_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d: &Path = dir.path();
    // `cat`: runs of one value, alternations and missing cells (dictionary pages written by
    // the workbench); `long`: a value per row, whose dictionary outgrows its limit in the
    // train split's second batch (plain pages, written by parquet's own writer).
    let mut text = String::from("id,cat,long,label\n");
    for i in 0..40_000 {
        let cat = match i % 3000 {
            0..1000 => "run",
            r if r % 7 == 0 => "?",
            r => ["b", "a", "dd", "c"][r % 4],
        };
        let long = if i % 13 == 0 { "?".to_owned() } else { format!("u{i:07}") };
        text.push_str(&format!("{i},{cat},{long},{}\n", i % 3 == 0));
    }
    csv(d, "t.csv", &text);
    wb(d).arg("init").assert().success();
    wb(d)
        .args(["dataset", "register", "t", "--source", "t.csv", "--target", "label", "--missing", "?"])
        .assert()
        .success();
    let partition = json(&wb(d).args(["dataset", "partition", "t", "--json"]).assert().success().get_output().stdout);
    let files: Vec<PathBuf> = ["train", "validation", "test"]
        .iter()
        .map(|s| local_path(&partition["partition"]["splits"][s]["files"][0]))
        .collect();

    let python = wb_aws::testkit::python();
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(COMPARE_SPLITS_WITH_SOURCE)
        .arg(d.join("t.csv"))
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(out.status.success(), "pyarrow could not compare the splits: {}", String::from_utf8_lossy(&out.stderr));
    let compared = json(&out.stdout);
    assert_eq!(compared["rows"], 40_000, "{compared}");
    assert_eq!(compared["mismatches"], j!([]), "{compared}");
    assert!(strings(&compared["encodings"]["cat"]).contains(&"RLE_DICTIONARY".to_owned()), "{compared}");
    assert!(strings(&compared["encodings"]["long"]).contains(&"PLAIN".to_owned()), "{compared}");
}
