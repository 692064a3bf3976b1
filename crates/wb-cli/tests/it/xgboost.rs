//! XGBoost's own models in the workbench: a model trained by the `xgboost` Python package (the
//! pinned wheel of the test harness, `wb_aws::testkit::xgboost_python`) on a dataset's channels
//! is imported with `wb jobs import`, deployed, invoked and compared with what `xgboost` itself
//! predicts; and the workbench's own `xgboost` trains on the same channels to XGBoost's accuracy.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use wb_models::boosted::BoostedTrees;

use crate::local::{csv, fails, json, ok_json, wb};
use crate::models::CleanOnDrop;

/// Trains three models with `xgboost` on the channel files named on the command line and writes
/// them with their predictions. Training rows get missing values (NaN) in a fixed pattern, so
/// the splits learn where missing values go; `holes` predicts the first test rows with another
/// pattern of NaN (the Rust side blanks the same cells).
const TRAIN_WITH_XGBOOST: &str = r#"
import json
import sys

import numpy as np
import xgboost as xgb

train_path, test_path, out = sys.argv[1], sys.argv[2], sys.argv[3]


def load(path):
    values = np.loadtxt(path, delimiter=",", ndmin=2)
    return values[:, 1:], values[:, 0]


x_train, y_train = load(train_path)
x_test, _ = load(test_path)
rows, cols = np.indices(x_train.shape)
x_train[(rows * 7 + cols) % 11 == 0] = np.nan
holes = x_test[:40].copy()
rows, cols = np.indices(holes.shape)
holes[(rows + cols) % 3 == 0] = np.nan

# A three-class target and a regression target derived from the features.
y_multi = np.digitize(np.nan_to_num(x_train[:, 0]) + np.nan_to_num(x_train[:, 1]), [0.8, 1.2])
y_value = 2.0 * np.nan_to_num(x_train[:, 2]) - np.nan_to_num(x_train[:, 3]) + 0.1 * y_train

common = {"max_depth": 4, "eta": 0.3, "tree_method": "hist", "nthread": 1, "seed": 0, "max_bin": 64}
models = {
    "binary": ({"objective": "binary:logistic", **common}, y_train),
    "multi": ({"objective": "multi:softprob", "num_class": 3, **common}, y_multi),
    "regression": ({"objective": "reg:squarederror", **common}, y_value),
}
result = {"version": xgb.__version__}
for name, (params, label) in models.items():
    booster = xgb.train(params, xgb.DMatrix(x_train, label=label, missing=np.nan), num_boost_round=25)
    booster.save_model(f"{out}/{name}.json")
    result[name] = {
        "test": booster.predict(xgb.DMatrix(x_test, missing=np.nan)).tolist(),
        "holes": booster.predict(xgb.DMatrix(holes, missing=np.nan)).tolist(),
    }
json.dump(result, sys.stdout)
"#;

/// A project with dataset `num`: five numeric features (so a channel row, minus its target, is
/// also a raw request row) and a binary target learnable from them.
fn numeric_project(dir: &Path) {
    ok_json(wb(dir).args(["init", "--name", "xgb", "--json"]));
    let mut text = String::from("a,b,c,d,e,label\n");
    let mut state = 17_u64;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as f64 / f64::from(1_u32 << 31)
    };
    for _ in 0..1500 {
        let v: Vec<f64> = (0..5).map(|_| (next() * 1000.0).round() / 1000.0).collect();
        let score = v[0] + v[1] - 0.5 * v[2] + 0.3 * next();
        let label = if score > 0.9 { "yes" } else { "no" };
        writeln!(text, "{},{},{},{},{},{label}", v[0], v[1], v[2], v[3], v[4]).expect("write");
    }
    csv(dir, "num.csv", &text);
    ok_json(wb(dir).args(["dataset", "register", "num", "--source", "num.csv", "--target", "label", "--json"]));
    ok_json(wb(dir).args(["dataset", "partition", "num", "--json"]));
}

fn channel(dir: &Path, split: &str) -> PathBuf {
    let root = dir.join(".workbench/datasets/num/partitions");
    let partition = std::fs::read_dir(&root).expect("partitions").next().expect("one partition").expect("entry").path();
    partition.join("channels").join(split).join(format!("{split}.csv"))
}

fn channel_rows(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .expect("channel")
        .lines()
        .map(|line| line.split(',').skip(1).map(|v| v.parse().expect("a number")).collect())
        .collect()
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array")
        .iter()
        .flat_map(|v| v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]))
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

fn assert_close(ours: &[f64], theirs: &[f64], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    let worst = ours.iter().zip(theirs).map(|(a, b)| (a - b).abs()).fold(0.0_f64, f64::max);
    assert!(worst <= 1e-6, "{what}: largest difference {worst:e}");
}

#[test]
fn xgboost_models_import_deploy_and_predict_as_xgboost_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    numeric_project(d);
    let _clean = CleanOnDrop(d);
    let (train, test) = (channel(d, "train"), channel(d, "test"));
    let models = d.join("models");
    std::fs::create_dir_all(&models).expect("models dir");
    let python = wb_aws::testkit::xgboost_python();
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(TRAIN_WITH_XGBOOST)
        .args([&train, &test, &models])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(out.status.success(), "xgboost failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let expected = json(&out.stdout);
    assert_eq!(expected["version"], wb_aws::testkit::XGBOOST_REQUIREMENT.trim_start_matches("xgboost-cpu=="));

    // Every objective, in-process, on the test rows and on rows with missing values.
    let test_rows = channel_rows(&test);
    let holes: Vec<Vec<f64>> = test_rows[..40]
        .iter()
        .enumerate()
        .map(|(i, row)| row.iter().enumerate().map(|(j, v)| if (i + j) % 3 == 0 { f64::NAN } else { *v }).collect())
        .collect();
    for (name, outputs) in [("binary", 2), ("multi", 3), ("regression", 1)] {
        let model =
            BoostedTrees::from_xgboost_json(&std::fs::read(models.join(format!("{name}.json"))).expect("model"))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (rows, part) in [(&test_rows, "test"), (&holes, "holes")] {
            let mut ours = Vec::new();
            let mut out = vec![0.0; outputs];
            for row in rows {
                model.predict_row(row, &mut out);
                // xgboost answers the positive class's probability for binary:logistic.
                if outputs == 2 { ours.push(out[1]) } else { ours.extend_from_slice(&out) }
            }
            assert_close(&ours, &numbers(&expected[name][part]), &format!("{name} {part}"));
        }
    }

    // Through the CLI: import, deploy, invoke with the test rows.
    let imported = ok_json(
        wb(d)
            .args(["jobs", "import", "xgb-binary", "--dataset", "num", "--model"])
            .arg(models.join("binary.json"))
            .arg("--json"),
    );
    assert_eq!((imported["status"].as_str(), imported["algorithm"].as_str()), (Some("Completed"), Some("xgboost")));
    assert!(imported["metrics"]["auc"].as_f64().expect("validation auc") > 0.8, "{imported}");
    ok_json(wb(d).args(["deploy", "--job", "xgb-binary", "--endpoint", "xgb-ep", "--json"]));
    let body: String =
        test_rows.iter().map(|r| r.iter().map(f64::to_string).collect::<Vec<_>>().join(",") + "\n").collect();
    csv(d, "test-rows.csv", &body);
    let answer = wb(d)
        .args([
            "endpoints",
            "invoke",
            "xgb-ep",
            "--content-type",
            "text/csv",
            "--accept",
            "text/csv",
            "--body",
            "@test-rows.csv",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let served: Vec<f64> = String::from_utf8(answer)
        .expect("utf8")
        .lines()
        .map(|line| line.split(',').nth(1).expect("two probabilities").parse().expect("a number"))
        .collect();
    assert_close(&served, &numbers(&expected["binary"]["test"]), "served binary");

    // The workbench's own xgboost, same rounds, depth, learning rate and bins, on the same
    // channels (without the injected holes) validates as well as XGBoost's model.
    let ours = ok_json(wb(d).args([
        "train",
        "--dataset",
        "num",
        "--algorithm",
        "xgboost",
        "--job",
        "ours",
        "--hp",
        "num_round=25",
        "--hp",
        "max_depth=4",
        "--hp",
        "eta=0.3",
        "--hp",
        "max_bin=64",
        "--json",
    ]));
    let (ours_auc, xgb_auc) =
        (ours["metrics"]["auc"].as_f64().expect("auc"), imported["metrics"]["auc"].as_f64().expect("auc"));
    assert!(ours_auc >= xgb_auc - 0.02, "ours {ours_auc} vs xgboost {xgb_auc}");
    assert_eq!(ours["hyperparameters"]["objective"], "binary:logistic", "the task's objective is filled in: {ours}");

    // Refusals: the job name is taken, the wrong dataset width, a model that is not XGBoost's.
    let err = fails(
        wb(d).args(["jobs", "import", "xgb-binary", "--dataset", "num", "--model"]).arg(models.join("binary.json")),
    );
    assert!(err.contains("exists already"), "{err}");
    let wide = std::fs::read_to_string(models.join("binary.json"))
        .expect("model")
        .replace("\"num_feature\":\"5\"", "\"num_feature\":\"6\"");
    csv(d, "wide.json", &wide);
    let err = fails(wb(d).args(["jobs", "import", "xgb-wide", "--dataset", "num", "--model", "wide.json"]));
    assert!(err.contains("reads 6 features but dataset num encodes 5"), "{err}");
    csv(
        d,
        "dart.json",
        &std::fs::read_to_string(models.join("binary.json"))
            .expect("model")
            .replace("\"name\":\"gbtree\"", "\"name\":\"dart\""),
    );
    let err = fails(wb(d).args(["jobs", "import", "xgb-dart", "--dataset", "num", "--model", "dart.json"]));
    assert!(err.contains("dart booster is not supported"), "{err}");
    let listed = ok_json(wb(d).args(["jobs", "list", "--json"]));
    assert_eq!(listed.as_array().expect("jobs").len(), 2, "refused imports record nothing: {listed}");
}
