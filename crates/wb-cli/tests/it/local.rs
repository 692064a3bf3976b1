//! The command-line contract on the local backend.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

pub(crate) fn wb(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("wb").expect("wb binary");
    cmd.current_dir(dir).env_remove("WB_CONFIG").env("NO_COLOR", "1");
    cmd
}

pub(crate) fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}): {}", String::from_utf8_lossy(output)))
}

/// `dataset partition toy` with 0.5/0.25/0.25, the given seed and extra flags.
fn partition_toy(seed: &str, extra: &[&'static str]) -> Vec<String> {
    let mut args: Vec<String> =
        ["dataset", "partition", "toy", "--train", "0.5", "--validation", "0.25", "--test", "0.25", "--seed", seed]
            .map(str::to_owned)
            .into();
    args.extend(extra.iter().map(|e| (*e).to_owned()));
    args
}

/// Runs a command expected to succeed and parses its stdout as JSON.
pub(crate) fn ok_json(cmd: &mut Command) -> Value {
    json(&cmd.assert().success().get_output().stdout)
}

/// Runs a command expected to fail; returns its stderr after checking it is one `error:` line.
pub(crate) fn fails(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().code(1).get_output().clone();
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    stderr
}

/// A snapshot of every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

pub(crate) fn csv(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn demo_runs_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = ok_json(wb(dir.path()).args(["demo", "--dir", "d", "--json"]));
    assert_eq!(first["registered"], true);
    assert_eq!(first["partitioned"], true);
    let splits = &first["dataset"]["partition"]["splits"];
    let total: u64 = ["train", "validation", "test"].iter().map(|s| splits[s]["rows"].as_u64().expect("rows")).sum();
    assert_eq!(total, 1599, "every red wine row lands in exactly one split");
    assert_eq!(splits["train"]["rows"], 959);
    assert_eq!(first["dataset"]["features"].as_array().expect("features").len(), 11);

    // Four experiments trained, deployed and registered; the sample invocation answered.
    let models: Vec<&str> =
        first["models"].as_array().expect("models").iter().map(|m| m["name"].as_str().expect("name")).collect();
    assert_eq!(models, ["wine-logistic", "wine-tree", "wine-forest", "wine-xgboost"]);
    for m in first["models"].as_array().expect("models") {
        assert_eq!(m["fingerprint"], first["dataset"]["partition"]["fingerprint"], "models record their partition");
        assert!(m["validation_metrics"]["auc"].as_f64().expect("auc") > 0.7, "{m}");
    }
    let answer: Vec<f64> = first["sample"]["response"]
        .as_str()
        .expect("response")
        .split(',')
        .map(|v| v.parse().expect("probability"))
        .collect();
    assert_eq!(answer.len(), 2);
    assert!((answer.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{answer:?}");

    // The four compared on the held-out test split, the report written, the best promoted.
    let comparison = &first["comparison"];
    let board = comparison["leaderboard"].as_array().expect("leaderboard");
    assert_eq!(board.len(), 4);
    assert_eq!(comparison["primary_metric"], "roc_auc");
    for entry in board {
        let (value, interval) = (entry["value"].as_f64().expect("auc"), &entry["interval"]);
        assert!(value > 0.6, "{entry}");
        assert!(interval["low"].as_f64().expect("low") <= value && value <= interval["high"].as_f64().expect("high"));
    }
    let index = comparison["location"]["index_html"].as_str().expect("index.html");
    assert!(std::fs::read_to_string(index).expect("report page").contains("wine-forest"));
    assert_eq!(first["promoted"]["model"], board[0]["model"], "the best model is promoted");

    // Monitoring the promoted endpoint: the test split as it is passes its baseline; with
    // residual_sugar moved by two standard deviations, that feature and nothing else is flagged.
    let monitoring = &first["monitoring"];
    assert_eq!(monitoring["endpoint"], first["promoted"]["endpoint"], "{monitoring}");
    assert_eq!(monitoring["unshifted"]["rows"], splits["test"]["rows"]);
    assert_eq!(monitoring["unshifted"]["violations"], serde_json::json!([]), "{monitoring}");
    let violations = monitoring["shifted"]["violations"].as_array().expect("violations");
    assert_eq!(violations.len(), 1, "{monitoring}");
    assert!(violations[0].as_str().expect("text").starts_with("residual_sugar baseline_drift_check"), "{monitoring}");
    assert_eq!(monitoring["shifted"]["drifted"], serde_json::json!(["residual_sugar"]));
    let page = std::fs::read_to_string(monitoring["shifted"]["report"].as_str().expect("report")).expect("report page");
    assert!(page.contains("residual_sugar") && page.contains("<svg"), "the monitoring report has its charts");

    // A second run reuses the dataset byte for byte (models are trained again as new jobs).
    let datasets = dir.path().join("d/.workbench/datasets");
    let before = snapshot(&datasets);
    let second = ok_json(wb(dir.path()).args(["demo", "--dir", "d", "--json"]));
    assert_eq!(second["registered"], false);
    assert_eq!(second["partitioned"], false);
    assert_eq!(second["dataset"]["partition"]["fingerprint"], first["dataset"]["partition"]["fingerprint"]);
    assert_eq!(snapshot(&datasets), before, "the second demo run leaves the dataset byte-for-byte unchanged");
    assert_eq!(second["server"], first["server"], "the running server is reused");
    let jobs = ok_json(wb(dir.path()).args(["--config", "d/workbench.toml", "jobs", "list", "--json"]));
    assert_eq!(jobs.as_array().expect("jobs").len(), 8);

    // Human output names what was made.
    wb(dir.path())
        .args(["--config", "d/workbench.toml", "dataset", "show", "wine-quality"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fingerprint blake3:").and(predicate::str::contains("channels/train/")));
    ok_json(wb(dir.path()).args(["--config", "d/workbench.toml", "clean", "--json"]));
}

#[test]
fn init_register_partition_show_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let init = ok_json(wb(dir.path()).args(["init", "--json"]));
    assert!(init["store"].as_str().expect("store").ends_with("/.workbench"));
    assert!(dir.path().join(".workbench").is_dir());
    fails(wb(dir.path()).arg("init"));

    let mut text = String::from("id,colour,size,label\n");
    for i in 0..200 {
        let colour = if i % 9 == 0 { "?" } else { ["red", "blue"][i % 2] };
        text.push_str(&format!("{i},{colour},{},{}\n", i % 17, ["yes", "no", "no", "no"][i % 4]));
    }
    csv(dir.path(), "data.csv", &text);
    let reg =
        ok_json(wb(dir.path()).args([
            "dataset", "register", "toy", "--source", "data.csv", "--target", "label", "--key", "id", "--json",
        ]));
    assert_eq!(reg["created"], true);
    assert_eq!(reg["key"], "id");

    let part = ok_json(wb(dir.path()).args(partition_toy("9", &["--json"])));
    assert_eq!(part["created"], true);
    assert_eq!(part["partition"]["algorithm"], "wb-keyhash-v1");
    assert_eq!(part["partition"]["seed"], 9);
    assert_eq!(part["features"], serde_json::json!(["colour", "size"]), "features exclude target and key");

    let show = ok_json(wb(dir.path()).args(["dataset", "show", "toy", "--json"]));
    assert_eq!(show["partition"]["fingerprint"], part["partition"]["fingerprint"]);
    let files = show["partition"]["splits"]["test"]["files"][0].as_str().expect("file uri");
    assert!(files.starts_with("file://") && files.ends_with("/test/part-00000.parquet"), "{files}");

    let list = ok_json(wb(dir.path()).args(["dataset", "list", "--json"]));
    assert_eq!(list[0]["name"], "toy");
    assert_eq!(
        list[0]["rows"]["train"].as_u64().expect("rows")
            + list[0]["rows"]["validation"].as_u64().expect("rows")
            + list[0]["rows"]["test"].as_u64().expect("rows"),
        200
    );

    // Re-partitioning with another seed is refused and says what differs; the store is unchanged.
    let store = dir.path().join(".workbench");
    let before = snapshot(&store);
    let err = fails(wb(dir.path()).args(partition_toy("10", &[])));
    assert!(err.contains("seed 9 vs 10") && err.contains("--new-version"), "{err}");
    assert_eq!(snapshot(&store), before);
    wb(dir.path())
        .args(partition_toy("10", &["--new-version"]))
        .assert()
        .success()
        .stdout(predicate::str::contains("version 2"));

    // Proportions are printed as given, not as 300 digits (stratified: the train split still
    // gets a row of each class). With the key, no row hashes below 1e-300: a split without a
    // class is refused, with the counts.
    let err = fails(wb(dir.path()).args([
        "dataset",
        "partition",
        "toy",
        "--train",
        "1e-300",
        "--validation",
        "0.8",
        "--test",
        "0.2",
        "--new-version",
    ]));
    assert!(err.contains("the train split would get no row of class") && err.contains("no: 0"), "{err}");
    ok_json(
        wb(dir.path()).args(["dataset", "register", "plain", "--source", "data.csv", "--target", "label", "--json"]),
    );
    wb(dir.path())
        .args(["dataset", "partition", "plain", "--train", "1e-300", "--validation", "0.8", "--test", "0.2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("(1e-300)").and(predicate::str::contains("(0.8)")));

    // A one-class target registers, but its partition is refused with the count.
    csv(dir.path(), "one.csv", "x,label\n1,a\n2,a\n3,a\n4,a\n5,a\n");
    ok_json(wb(dir.path()).args(["dataset", "register", "one", "--source", "one.csv", "--target", "label", "--json"]));
    let err = fails(wb(dir.path()).args(["dataset", "partition", "one"]));
    assert!(err.contains("\"label\" has 1 class(es) (a: 5)"), "{err}");
}

#[test]
fn bad_input_gets_one_clear_error_line_and_leaves_the_store_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    wb(dir.path()).arg("init").assert().success();
    csv(dir.path(), "ok.csv", "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n11,12,x\n");
    let store = dir.path().join(".workbench");
    let before = snapshot(&store);

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["dataset", "register", "ok", "--source", "ok.csv", "--target", "nope"], "no column \"nope\""),
        (
            vec!["dataset", "register", "bad_name", "--source", "ok.csv", "--target", "label"],
            "invalid dataset name \"bad_name\"",
        ),
        (vec!["dataset", "register", "ok", "--source", "missing.csv", "--target", "label"], "missing.csv"),
        (vec!["dataset", "partition", "ghost"], "not registered"),
        (vec!["dataset", "show", "ghost"], "not registered"),
    ];
    for (args, needle) in cases {
        let err = fails(wb(dir.path()).args(&args));
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert_eq!(snapshot(&store), before, "failed commands write nothing");

    wb(dir.path()).args(["dataset", "register", "ok", "--source", "ok.csv", "--target", "label"]).assert().success();
    for (args, needle) in [
        (vec!["dataset", "partition", "ok", "--train", "0.9", "--validation", "0.2", "--test", "0.2"], "must be 1"),
        (vec!["dataset", "partition", "ok", "--train", "-0.2", "--validation", "0.6", "--test", "0.6"], "train = -0.2"),
        (vec!["dataset", "partition", "ok"], "too small to appear in all 3 splits"),
    ] {
        let err = fails(wb(dir.path()).args(&args));
        assert!(err.contains(needle), "{args:?}: {err}");
    }

    // A config naming an unknown store scheme.
    let other = tempfile::tempdir().expect("tempdir");
    std::fs::write(other.path().join("workbench.toml"), "[store]\nuri = \"gs://bucket/x\"\n").expect("write");
    let err = fails(wb(other.path()).args(["dataset", "list"]));
    assert!(err.contains("unknown scheme \"gs\"") && err.contains("workbench.toml"), "{err}");
    // No config at all.
    let none = tempfile::tempdir().expect("tempdir");
    assert!(fails(wb(none.path()).args(["dataset", "list"])).contains("no workbench.toml found"));
}

#[test]
fn etl_ingest_synth_and_their_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let synth = ok_json(wb(d).args([
        "etl",
        "synth",
        "readmission",
        "--rows",
        "3000",
        "--seed",
        "5",
        "--to",
        "r.csv",
        "--mapping",
        "ids.csv",
        "--json",
    ]));
    assert_eq!(synth["rows"], 3000);
    assert!(synth["columns"].as_u64().expect("columns") >= 45);
    let err = fails(wb(d).args(["etl", "synth", "readmission", "--rows", "0", "--to", "empty.csv"]));
    assert!(err.contains("--rows") && err.contains("'0'"), "{err}");
    assert!(!d.join("empty.csv").exists(), "no header-only file");
    let ingest = ok_json(wb(d).args([
        "etl",
        "ingest",
        "r.csv",
        "--to",
        "r.parquet",
        "--missing",
        "?",
        "--lookup",
        "admission_type_id=ids.csv",
        "--json",
    ]));
    assert_eq!(ingest["rows"], 3000);
    let admission = ingest["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c[0] == "admission_type_id")
        .expect("column")
        .clone();
    assert_eq!(admission[1], "Utf8", "the code column now holds descriptions");

    // Partition the generated data with encounter_id as key.
    wb(d).arg("init").assert().success();
    wb(d)
        .args([
            "dataset",
            "register",
            "readmission",
            "--source",
            "r.parquet",
            "--target",
            "readmitted",
            "--key",
            "encounter_id",
        ])
        .assert()
        .success();
    let part = ok_json(wb(d).args(["dataset", "partition", "readmission", "--json"]));
    assert_eq!(part["partition"]["classes"], serde_json::json!(["0", "1"]));

    csv(d, "ragged.csv", "a,b\n1,2\n3\n");
    let err = fails(wb(d).args(["etl", "ingest", "ragged.csv", "--to", "out.parquet"]));
    assert!(err.contains("ragged.csv") && err.contains("line"), "{err}");
    assert!(!d.join("out.parquet").exists(), "no output is left after a failed ingest");
    std::fs::write(d.join("bad-utf8.csv"), b"a,b\n1,\xff\n").expect("write");
    assert!(
        fails(wb(d).args(["etl", "ingest", "bad-utf8.csv", "--to", "out.parquet"])).to_lowercase().contains("utf-8")
    );
    csv(d, "empty.csv", "");
    assert!(fails(wb(d).args(["etl", "ingest", "empty.csv", "--to", "out.parquet"])).contains("empty"));
    csv(d, "codes.csv", "id,admission_type_id\n1,1\n2,99\n");
    let err = fails(wb(d).args([
        "etl",
        "ingest",
        "codes.csv",
        "--to",
        "out.parquet",
        "--lookup",
        "admission_type_id=ids.csv",
    ]));
    assert!(err.contains("line 3") && err.contains("\"99\""), "{err}");
    let err = fails(wb(d).args(["etl", "download", "ftp://example.invalid/x", "--to", "x"]));
    assert!(err.contains("ftp://"), "{err}");
}

#[test]
fn help_lists_the_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = wb(dir.path()).arg("--help").assert().success().get_output().stdout.clone();
    let help = String::from_utf8(out).expect("utf8");
    for command in ["init", "dataset", "etl", "demo", "compare", "promote"] {
        assert!(help.contains(command), "{help}");
    }
    wb(dir.path()).args(["compare", "--help"]).assert().success().stdout(
        predicate::str::contains("--allow-foreign")
            .and(predicate::str::contains("--batch-size"))
            .and(predicate::str::contains("--concurrency"))
            .and(predicate::str::contains("serve")),
    );
    wb(dir.path())
        .args(["dataset", "partition", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--no-stratify").and(predicate::str::contains("--seed")));
    assert!(help.contains("Exit status: 0") && help.contains("--fail-on-violation"), "{help}");
}

/// Argument errors follow the one contract: one `error:` line naming the flag or value, status 1.
#[test]
fn argument_errors_are_one_line_and_exit_status_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let seed = fails(wb(d).args(["dataset", "partition", "toy", "--seed", "-1"]));
    assert!(seed.contains("-1"), "{seed}");
    let train = fails(wb(d).args(["dataset", "partition", "toy", "--train", "abc"]));
    assert!(train.contains("abc") && train.contains("--train"), "{train}");
    let unknown = fails(wb(d).args(["monitor", "run", "--endpoint", "e", "--bogus"]));
    assert!(unknown.contains("--bogus"), "{unknown}");
    let missing = fails(wb(d).args(["monitor", "run"]));
    assert!(missing.contains("--endpoint"), "{missing}");
    assert!(fails(&mut wb(d)).contains("wb --help"));
    let capture = fails(wb(d).args(["deploy", "--job", "j", "--endpoint", "e", "--capture=-5"]));
    assert!(capture.contains("0..=100"), "the range is a percentage: {capture}");
    let header = fails(wb(d).args(["serve", "--max-header-bytes", "100"]));
    assert!(header.contains("--max-header-bytes") && header.contains("8192"), "{header}");
    let idle = fails(wb(d).args(["serve", "--idle-timeout", "0"]));
    assert!(idle.contains("--idle-timeout") && idle.contains("(0, 86400]"), "{idle}");
    wb(d).arg("--version").assert().success().stdout(predicate::str::starts_with("wb "));
}

/// A partition killed at points spread over its run leaves nothing once a rerun finishes: no
/// scratch directory in the system temp dir, no temporary file in the store, and the rerun's
/// partition is the uninterrupted one's.
#[test]
fn a_killed_partition_leaves_nothing_once_rerun() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let temp = d.join("system-temp");
    std::fs::create_dir(&temp).expect("temp dir");
    let run = |args: &[&str]| {
        let mut cmd = wb(d);
        cmd.env("TMPDIR", &temp).args(args);
        cmd
    };
    run(&["init"]).assert().success();
    run(&["etl", "synth", "readmission", "--rows", "20000", "--to", "data.csv"]).assert().success();
    let partition = |name: &str| {
        ["dataset", "partition", name, "--train", "0.6", "--validation", "0.2", "--test", "0.2", "--json"]
            .map(str::to_owned)
    };
    let leftovers = || {
        // Every file in the system temp dir, and in the store's internal directory but its
        // per-object lock files (kept by design).
        let mut found: Vec<PathBuf> = snapshot(&temp).into_iter().map(|(path, _)| path).collect();
        found.extend(
            snapshot(&d.join(".workbench/.wb-store"))
                .into_iter()
                .map(|(path, _)| path)
                .filter(|path| !path.parent().is_some_and(|p| p.ends_with("locks"))),
        );
        found
    };

    // The uninterrupted run, timed.
    run(&["dataset", "register", "whole", "--source", "data.csv", "--target", "readmitted"]).assert().success();
    let started = std::time::Instant::now();
    let whole = ok_json(&mut run(&partition("whole").each_ref().map(String::as_str)));
    let full = started.elapsed();
    assert_eq!(leftovers(), Vec::<PathBuf>::new());

    let mut killed = 0;
    for (i, fraction) in [0.1, 0.3, 0.5, 0.7, 0.85, 0.95].into_iter().enumerate() {
        let name = format!("k{i}");
        run(&["dataset", "register", &name, "--source", "data.csv", "--target", "readmitted"]).assert().success();
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wb"))
            .current_dir(d)
            .env_remove("WB_CONFIG")
            .env("TMPDIR", &temp)
            .args(partition(&name))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(full.mul_f64(fraction));
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("kill");
            killed += 1;
        }
        child.wait().expect("reap");
        let rerun = ok_json(&mut run(&partition(&name).each_ref().map(String::as_str)));
        assert_eq!(leftovers(), Vec::<PathBuf>::new(), "after the rerun of {name} (killed at {fraction} of the run)");
        for split in ["train", "validation", "test"] {
            let (again, once) = (&rerun["partition"]["splits"][split], &whole["partition"]["splits"][split]);
            assert_eq!(
                (&again["rows"], &again["class_counts"]),
                (&once["rows"], &once["class_counts"]),
                "{name} {split}"
            );
        }
    }
    assert!(killed >= 3, "most runs were killed mid-way ({killed} of 6)");

    // `wb clean` sweeps what a killed run left in the system temp dir.
    run(&["dataset", "register", "last", "--source", "data.csv", "--target", "readmitted"]).assert().success();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wb"))
        .current_dir(d)
        .env_remove("WB_CONFIG")
        .env("TMPDIR", &temp)
        .args(partition("last"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(full.mul_f64(0.6));
    let _ = child.kill();
    child.wait().expect("reap");
    let cleaned = ok_json(&mut run(&["clean", "--json"]));
    assert_eq!(leftovers(), Vec::<PathBuf>::new(), "after wb clean: {cleaned}");
    assert!(cleaned["scratch"]["dirs"].as_u64().is_some_and(|n| n <= 1), "{cleaned}");
}

#[test]
fn etl_digits_then_cifar_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let digits = ok_json(wb(d).args(["etl", "digits", "--to", "digits.tar.gz", "--classes", "0,1", "--json"]));
    assert_eq!(digits["classes"], serde_json::json!([0, 1]));
    let (train, test) = (digits["train"].as_u64().expect("train"), digits["test"].as_u64().expect("test"));
    assert_eq!(train + test, 178 + 182);

    // Digit 1 becomes label 0, digit 0 label 1.
    wb(d)
        .args(["etl", "cifar", "digits.tar.gz", "--to", "images", "--classes", "1,0"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("wrote {train} train and {test} test images of 2 cifar-10 classes")));
    let lst = std::fs::read_to_string(d.join("images/train.lst")).expect("train.lst");
    assert_eq!(lst.lines().count() as u64, train);
    let first = lst.lines().next().expect("a line");
    assert_eq!(first, "0\t1\ttrain/digit_0_0.png");
    assert!(d.join("images/train/digit_0_0.png").is_file());
    let classes: Value = serde_json::from_str(&std::fs::read_to_string(d.join("images/classes.json")).expect("read"))
        .expect("classes.json");
    assert_eq!(classes["classes"][0], serde_json::json!({"index": 0, "id": 1, "name": "1"}));

    let err = fails(wb(d).args(["etl", "cifar", "digits.tar.gz", "--to", "other", "--classes", "10"]));
    assert!(err.contains("class id 10"), "{err}");
    let err = fails(wb(d).args(["etl", "cifar", "digits.tar.gz", "--to", "images"]));
    assert!(err.contains("not empty"), "{err}");
}

#[test]
fn a_zip_bomb_is_refused_unless_the_limit_is_raised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // 32 MiB of zeros deflate to about 32 KB (Python's zipfile writes it, as any user's tool would).
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n    z.writestr('zeros.bin', bytes(32 << 20))\n";
    let made = std::process::Command::new(wb_aws::testkit::python())
        .args(["-c", script])
        .arg(d.join("bomb.zip"))
        .status()
        .expect("python");
    assert!(made.success());
    let err = fails(wb(d).args(["etl", "extract", "bomb.zip", "--to", "out"]));
    assert!(err.contains("zeros.bin") && err.contains("--max-ratio"), "{err}");
    assert!(std::fs::read_dir(d.join("out")).map_or(true, |mut e| e.next().is_none()), "nothing is written");
    let err = fails(wb(d).args([
        "etl",
        "extract",
        "bomb.zip",
        "--to",
        "out",
        "--max-ratio",
        "100000",
        "--max-bytes",
        "1000",
    ]));
    assert!(err.contains("--max-bytes"), "{err}");
    let report = ok_json(wb(d).args(["etl", "extract", "bomb.zip", "--to", "out", "--max-ratio", "100000", "--json"]));
    assert_eq!(report["bytes"], 32 << 20, "{report}");
}
