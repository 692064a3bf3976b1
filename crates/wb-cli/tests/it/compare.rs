//! `wb compare`, `wb compare serve`, `wb promote` and `wb clean --keep-promoted`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::local::{fails, ok_json, wb};
use crate::models::{CleanOnDrop, project};

fn model(d: &Path, name: &str, algorithm: &str) {
    ok_json(wb(d).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        algorithm,
        "--job",
        &format!("{name}-job"),
        "--json",
    ]));
    ok_json(wb(d).args(["deploy", "--job", &format!("{name}-job"), "--endpoint", &format!("{name}-ep"), "--json"]));
    ok_json(wb(d).args(["register", name, "--endpoint", &format!("{name}-ep"), "--description", algorithm, "--json"]));
}

/// A plain HTTP GET over a socket; returns the status line and body.
fn http_get(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").expect("send");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

#[test]
fn compare_promote_serve_and_keep_the_promoted_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    project(d);
    let _clean = CleanOnDrop(d);
    model(d, "m-logistic", "logistic-regression");
    model(d, "m-bayes", "gaussian-nb");

    // Bad input first: nothing is written.
    assert!(fails(wb(d).args(["compare", "--models", "m-logistic,ghost"])).contains("\"ghost\" is not registered"));
    assert!(fails(wb(d).args(["compare", "--batch-size", "0"])).contains("--batch-size"));
    assert!(fails(wb(d).args(["compare", "--slice-by", "nope"])).contains("cannot slice by \"nope\""));
    assert!(fails(wb(d).args(["compare", "--dataset", "other"])).contains("other"));
    assert!(!d.join(".workbench/reports").exists(), "failed comparisons write no report");

    // The comparison: a report on disk, its JSON on stdout.
    let out = ok_json(wb(d).args(["compare", "--resamples", "200", "--slice-by", "colour", "--json"]));
    let report = &out["report"];
    assert_eq!(report["models"].as_array().expect("models").len(), 2);
    assert_eq!(report["leaderboard"][0]["rank"], 1);
    assert_eq!(report["comparisons"].as_array().expect("pairs").len(), 1);
    let index = out["location"]["index_html"].as_str().expect("index path");
    let html = std::fs::read_to_string(index).expect("index.html written");
    assert!(html.contains("m-logistic") && html.contains("m-bayes"));
    let id = report["id"].as_str().expect("id");
    assert!(d.join(format!(".workbench/reports/compare/{id}/report.md")).is_file());
    let best = report["leaderboard"][0]["model"].as_str().expect("best").to_owned();

    // Human output: the leaderboard and where the report is.
    wb(d)
        .args(["compare", "--resamples", "50", "--importance-budget", "0"])
        .assert()
        .success()
        .stdout(predicates::str::contains("rank").and(predicates::str::contains("index.html")));

    // A model whose endpoint is gone is reported, the other is still scored, the exit code says so.
    model(d, "m-gone", "gaussian-nb");
    std::fs::remove_file(d.join(".workbench/endpoints/m-gone-ep.json")).expect("remove endpoint record");
    std::thread::sleep(Duration::from_millis(1100));
    let output = wb(d).args(["compare", "--resamples", "50", "--json"]).output().expect("run");
    assert!(!output.status.success(), "a model that could not be scored fails the command");
    let partial: Value = serde_json::from_slice(&output.stdout).expect("the report is still printed");
    assert_eq!(partial["report"]["models"].as_array().expect("models").len(), 2);
    assert_eq!(partial["report"]["failures"][0]["model"], "m-gone");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 of 3 models could not be scored") && stderr.contains("m-gone"), "{stderr}");
    ok_json(wb(d).args(["models", "remove", "m-gone", "--json"]));

    // A report directory that cannot be written: the leaderboard is still printed, the error says
    // where, and the reports already there are untouched.
    let reports = d.join(".workbench/reports/compare");
    let aside = d.join(".workbench/reports/compare.aside");
    std::fs::rename(&reports, &aside).expect("move reports aside");
    std::fs::write(&reports, b"not a directory").expect("block the reports path");
    let output = wb(d).args(["compare", "--resamples", "20", "--importance-budget", "0"]).output().expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("its report could not be written") && stderr.contains("reports/compare/"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("rank"), "the leaderboard is still shown");
    std::fs::remove_file(&reports).expect("unblock");
    std::fs::rename(&aside, &reports).expect("restore reports");

    // Promote: the newest report that scored it is cited.
    let promoted = ok_json(wb(d).args(["promote", &best, "--json"]));
    assert_eq!(promoted["model"], best.as_str());
    assert!(promoted["report"].as_str().expect("report").starts_with("reports/compare/"));
    assert!(promoted["metrics"]["roc_auc"].as_f64().expect("auc") > 0.5);
    assert!(fails(wb(d).args(["models", "remove", &best])).contains("promoted"));
    assert!(fails(wb(d).args(["promote", "ghost"])).contains("ghost"));

    // The web app over every report.
    let mut serve = std::process::Command::new(assert_cmd::cargo::cargo_bin("wb"))
        .current_dir(d)
        .args(["compare", "serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(serve.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("url").trim_end_matches('/').to_owned();
    let (status, body) = http_get(&format!("{url}/api/reports"));
    assert!(status.contains("200"), "{status}");
    let listed: Value = serde_json::from_str(body.trim()).unwrap_or(Value::Null);
    assert!(listed.as_array().is_some_and(|a| a.len() >= 2) || body.contains(id), "{body}");
    let (status, _) = http_get(&format!("{url}/reports/{id}"));
    assert!(status.contains("200"), "{status}");
    let (status, _) = http_get(&format!("{url}/reports/nope"));
    assert!(status.contains("404"), "{status}");
    let _ = serve.kill();
    let _ = serve.wait();

    // Clean but keep the promoted model: it still answers, the other is gone.
    let other = if best == "m-logistic" { "m-bayes" } else { "m-logistic" };
    let dry = ok_json(wb(d).args(["clean", "--keep-promoted", "--dry-run", "--json"]));
    let names: Vec<String> = dry["plan"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| format!("{}:{}", i["kind"].as_str().expect("kind"), i["name"].as_str().expect("name")))
        .collect();
    assert!(names.contains(&format!("model:{other}")), "{names:?}");
    assert!(!names.iter().any(|n| n.contains(&best)), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("server") || n.starts_with("promotion")), "{names:?}");
    let cleaned = ok_json(wb(d).args(["clean", "--keep-promoted", "--json"]));
    assert_eq!(cleaned["report"]["stopped_server"], false);
    let models = ok_json(wb(d).args(["models", "list", "--json"]));
    let left: Vec<&str> =
        models.as_array().expect("models").iter().map(|m| m["name"].as_str().expect("name")).collect();
    assert_eq!(left, [best.as_str()]);
    let answer = wb(d)
        .args(["endpoints", "invoke", &format!("{best}-ep"), "--content-type", "text/csv", "--body", "60,red"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8_lossy(&answer).trim().split(',').count(), 2, "the promoted endpoint still serves");
    assert!(
        d.join(format!(".workbench/{}", promoted["report"].as_str().expect("report"))).is_dir(),
        "its report stays"
    );
    let again = ok_json(wb(d).args(["clean", "--keep-promoted", "--json"]));
    assert_eq!(again["plan"]["items"].as_array().expect("items").len(), 0, "{again}");

    // A test split whose file is gone is named.
    let test_file = walk(&d.join(".workbench/datasets/toy"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("/test/") && p.extension().is_some_and(|e| e == "parquet"))
        .expect("test split file");
    std::fs::remove_file(&test_file).expect("remove the test split");
    let error = fails(wb(d).args(["compare"]));
    assert!(error.contains("test") && error.contains("part-"), "{error}");

    // A plain clean removes the rest, the promotion included.
    let all = ok_json(wb(d).args(["clean", "--json"]));
    assert_eq!(all["report"]["stopped_server"], true);
    assert!(!d.join(".workbench/registry/promoted.json").exists());
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
