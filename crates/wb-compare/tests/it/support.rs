//! Hand-made reports and a store to put them in.

use std::sync::Arc;

use wb_compare::metrics::{CalibrationBin, CurvePoint, ThresholdRow};
use wb_compare::report::{
    ClassReport, Curves, Estimate, FeatureImportance, Importance, LeaderboardEntry, MetricDifference, ModelFailure,
    ModelReport, PairwiseComparison, REPORT_FORMAT, Report, ScoringStats, Settings, SliceRow, Slices, Timings,
    WorstRow,
};
use wb_compare::stats::{DeLong, Interval, McNemar};
use wb_compare::{render, reports};
use wb_core::{ContentHash, DatasetName, DynObjectStore, EndpointName, JobName, LocalStore, ModelName};

/// The scored models of [`sample_report`], in leaderboard order.
pub(crate) const MODELS: [&str; 3] = ["gbdt-churn", "logreg-churn", "forest-legacy"];

/// The model that could not be scored.
pub(crate) const FAILED: &str = "svm-churn";

/// A description that must be escaped everywhere.
pub(crate) const SCRIPT_DESCRIPTION: &str = "Gradient boosting <script>alert(\"xss\")</script> tuned & \"calibrated\"";

/// Another description with markup in it.
pub(crate) const BOLD_DESCRIPTION: &str = "L2 logistic regression, <b>baseline</b> & \"reference\"";

fn name(s: &str) -> ModelName {
    ModelName::parse(s).expect("model name")
}

fn interval(low: f64, high: f64) -> Option<Interval> {
    Some(Interval { low, high })
}

fn estimate(metric: &str, value: f64, half_width: f64) -> Estimate {
    Estimate { metric: metric.into(), value: Some(value), interval: interval(value - half_width, value + half_width) }
}

/// Positive and negative rows of the test split.
const POSITIVES: u64 = 120;
const NEGATIVES: u64 = 180;

/// A binormal-looking ROC curve with AUC `k / (k + 1)`: `tpr = 1 − (1 − fpr)^k`.
fn roc(k: f64) -> Vec<CurvePoint> {
    (0..=40)
        .map(|i| {
            let x = f64::from(i) / 40.0;
            CurvePoint { x, y: 1.0 - (1.0 - x).powf(k), threshold: if i == 0 { f64::MAX } else { 1.0 - x } }
        })
        .collect()
}

fn pr(k: f64) -> Vec<CurvePoint> {
    let prevalence = POSITIVES as f64 / (POSITIVES + NEGATIVES) as f64;
    (0..=40)
        .map(|i| {
            let recall = f64::from(i) / 40.0;
            let precision = prevalence + (1.0 - prevalence) * (1.0 - recall.powf(k));
            CurvePoint { x: recall, y: precision, threshold: 1.0 - recall }
        })
        .collect()
}

fn calibration(skew: f64) -> Vec<CalibrationBin> {
    (0..10)
        .map(|i| {
            let lower = f64::from(i) / 10.0;
            let mean = lower + 0.05;
            CalibrationBin {
                lower,
                upper: lower + 0.1,
                mean_predicted: mean,
                fraction_positive: (mean + skew * (mean - 0.5) * (1.0 - mean)).clamp(0.0, 1.0),
                count: 30,
            }
        })
        .collect()
}

fn thresholds(k: f64) -> Vec<ThresholdRow> {
    (1..20)
        .map(|i| {
            let t = f64::from(i) * 0.05;
            let tp = (POSITIVES as f64 * (1.0 - t.powf(k))).round() as u64;
            let fp = (NEGATIVES as f64 * (1.0 - t).powf(k)).round() as u64;
            let (fn_, tn) = (POSITIVES - tp, NEGATIVES - fp);
            let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            ThresholdRow {
                threshold: t,
                true_positives: tp,
                false_positives: fp,
                true_negatives: tn,
                false_negatives: fn_,
                precision: ratio(tp, tp + fp),
                recall: ratio(tp, POSITIVES),
                f1: ratio(2 * tp, 2 * tp + fp + fn_),
                false_positive_rate: ratio(fp, NEGATIVES),
            }
        })
        .collect()
}

struct Spec {
    name: &'static str,
    algorithm: &'static str,
    description: &'static str,
    foreign: bool,
    k: f64,
    accuracy: f64,
    auc: f64,
    pr_auc: f64,
    brier: f64,
    skew: f64,
    importance: &'static [(&'static str, f64, f64)],
}

fn model(spec: &Spec, fingerprint: ContentHash) -> ModelReport {
    let n = name(spec.name);
    let tp = (POSITIVES as f64 * spec.accuracy).round() as u64;
    let tn = (NEGATIVES as f64 * spec.accuracy).round() as u64;
    let metrics = vec![
        estimate("accuracy", spec.accuracy, 0.031),
        estimate("balanced_accuracy", spec.accuracy - 0.012, 0.033),
        estimate("macro_f1", spec.accuracy - 0.02, 0.035),
        estimate("roc_auc", spec.auc, 0.029),
        estimate("pr_auc", spec.pr_auc, 0.041),
        estimate("log_loss", 0.9 - spec.auc * 0.6, 0.04),
        estimate("brier", spec.brier, 0.012),
    ];
    ModelReport {
        endpoint: EndpointName::parse(format!("{}-ep", spec.name)).expect("endpoint"),
        model: n,
        algorithm: spec.algorithm.into(),
        backend: "local".into(),
        job: JobName::parse(format!("{}-job-1", spec.name)).expect("job"),
        description: spec.description.into(),
        foreign: spec.foreign,
        trained_on: if spec.foreign { ContentHash::of_bytes(b"an older partition") } else { fingerprint },
        metrics,
        per_class: vec![
            ClassReport {
                class: "stays".into(),
                precision: spec.accuracy + 0.01,
                recall: spec.accuracy + 0.02,
                f1: spec.accuracy + 0.015,
                support: NEGATIVES,
            },
            ClassReport {
                class: "churns".into(),
                precision: spec.accuracy - 0.03,
                recall: spec.accuracy - 0.02,
                f1: spec.accuracy - 0.025,
                support: POSITIVES,
            },
        ],
        confusion: vec![vec![tn, NEGATIVES - tn], vec![POSITIVES - tp, tp]],
        curves: Some(Curves {
            roc: roc(spec.k),
            precision_recall: pr(spec.k / 2.0),
            calibration: calibration(spec.skew),
        }),
        thresholds: thresholds(spec.k / 3.0),
        importance: Some(Importance {
            rows: 300,
            repeats: 3,
            invocations: 3 * spec.importance.len() + 1,
            baseline: Some(spec.auc),
            features: spec
                .importance
                .iter()
                .map(|&(feature, mean, std)| FeatureImportance { feature: feature.into(), mean, std })
                .collect(),
        }),
        slices: Some(Slices {
            column: "plan".into(),
            kind: "categories".into(),
            slices: ["basic", "premium", "<family & friends>"]
                .iter()
                .enumerate()
                .map(|(i, slice)| SliceRow {
                    slice: (*slice).into(),
                    rows: [140, 110, 50][i],
                    metrics: vec![
                        Estimate {
                            metric: "accuracy".into(),
                            value: Some(spec.accuracy - 0.02 * i as f64),
                            interval: None,
                        },
                        Estimate { metric: "roc_auc".into(), value: Some(spec.auc - 0.015 * i as f64), interval: None },
                    ],
                })
                .collect(),
        }),
        worst_rows: (0..5)
            .map(|i| WorstRow {
                row_id: format!("cust-{:04}<{i}>", 17 + i * 31),
                actual: if i % 2 == 0 { "churns" } else { "stays" }.into(),
                predicted: if i % 2 == 0 { "stays" } else { "churns" }.into(),
                true_class_probability: Some(0.02 + 0.03 * f64::from(i)),
                predicted_probability: Some(0.98 - 0.03 * f64::from(i)),
                loss: -(0.02 + 0.03 * f64::from(i)).ln(),
                image: None,
            })
            .collect(),
        scoring: ScoringStats { rows: 300, invocations: 3, retries: u32::from(spec.foreign) as usize, elapsed_ms: 420 },
        predictions_file: None,
    }
}

fn comparison(report: &Report, a: usize, b: usize, p: f64, adjusted: f64, significant: bool) -> PairwiseComparison {
    let (ma, mb) = (&report.models[a], &report.models[b]);
    let auc = |m: &ModelReport| m.metric("roc_auc").and_then(|e| e.value).expect("auc");
    let acc = |m: &ModelReport| m.metric("accuracy").and_then(|e| e.value).expect("accuracy");
    let diff = auc(ma) - auc(mb);
    PairwiseComparison {
        a: ma.model.clone(),
        b: mb.model.clone(),
        rows: 300,
        mcnemar: Some(McNemar {
            both_correct: 220,
            only_a_correct: 30,
            only_b_correct: 14,
            both_wrong: 36,
            statistic: 5.11,
            p_value: p * 1.5,
            method: "chi2-continuity".into(),
        }),
        delong: Some(DeLong {
            auc_a: auc(ma),
            auc_b: auc(mb),
            difference: diff,
            standard_error: 0.018,
            z: diff / 0.018,
            p_value: p,
        }),
        differences: vec![
            MetricDifference {
                metric: "roc_auc".into(),
                difference: Some(diff),
                interval: interval(diff - 0.03, diff + 0.03),
                p_value: Some(p),
            },
            MetricDifference {
                metric: "accuracy".into(),
                difference: Some(acc(ma) - acc(mb)),
                interval: interval(acc(ma) - acc(mb) - 0.04, acc(ma) - acc(mb) + 0.04),
                p_value: Some(p * 2.0),
            },
        ],
        adjusted_p: Some(adjusted),
        significant,
        better: Some(if diff >= 0.0 { ma.model.clone() } else { mb.model.clone() }),
    }
}

/// A realistic binary-classification report: three scored models (one trained on a foreign
/// partition), one failure, curves, thresholds, importance, slices, worst rows, pairwise tests,
/// and user strings that need escaping.
pub(crate) fn sample_report(id: &str) -> Report {
    let fingerprint = ContentHash::of_bytes(b"customer-churn test partition");
    let specs = [
        Spec {
            name: MODELS[0],
            algorithm: "gradient-boosting",
            description: SCRIPT_DESCRIPTION,
            foreign: false,
            k: 9.0,
            accuracy: 0.874,
            auc: 0.9123,
            pr_auc: 0.8712,
            brier: 0.0921,
            skew: 0.1,
            importance: &[
                ("tenure_months", 0.112, 0.011),
                ("monthly_charges", 0.071, 0.009),
                ("support_calls", 0.046, 0.007),
                ("contract <type>", 0.021, 0.004),
                ("region", 0.003, 0.002),
                ("signup_weekday", -0.002, 0.003),
            ],
        },
        Spec {
            name: MODELS[1],
            algorithm: "logistic-regression",
            description: BOLD_DESCRIPTION,
            foreign: false,
            k: 5.5,
            accuracy: 0.829,
            auc: 0.8571,
            pr_auc: 0.8033,
            brier: 0.1187,
            skew: 0.6,
            importance: &[
                ("monthly_charges", 0.084, 0.012),
                ("tenure_months", 0.079, 0.010),
                ("contract <type>", 0.030, 0.006),
                ("support_calls", 0.012, 0.004),
            ],
        },
        Spec {
            name: MODELS[2],
            algorithm: "random-forest",
            description: "Random forest from last quarter's partition",
            foreign: true,
            k: 3.0,
            accuracy: 0.781,
            auc: 0.7502,
            pr_auc: 0.6820,
            brier: 0.1634,
            skew: -0.8,
            importance: &[("tenure_months", 0.061, 0.015), ("region", 0.022, 0.008)],
        },
    ];
    let models: Vec<ModelReport> = specs.iter().map(|s| model(s, fingerprint)).collect();
    let leaderboard = vec![
        LeaderboardEntry {
            rank: 1,
            model: name(MODELS[0]),
            value: Some(0.9123),
            interval: interval(0.8812, 0.9401),
            p_vs_best: None,
            significantly_worse: false,
            foreign: false,
        },
        LeaderboardEntry {
            rank: 2,
            model: name(MODELS[1]),
            value: Some(0.8571),
            interval: interval(0.8203, 0.8915),
            p_vs_best: Some(0.0034),
            significantly_worse: true,
            foreign: false,
        },
        LeaderboardEntry {
            rank: 3,
            model: name(MODELS[2]),
            value: Some(0.7502),
            interval: interval(0.7011, 0.7987),
            p_vs_best: Some(0.0002),
            significantly_worse: true,
            foreign: true,
        },
    ];
    let mut report = Report {
        format: REPORT_FORMAT,
        id: id.to_owned(),
        created_at: format!(
            "{}-{}-{}T{}:{}:{}Z",
            &id[0..4],
            &id[4..6],
            &id[6..8],
            &id[9..11],
            &id[11..13],
            &id[13..15]
        ),
        dataset: DatasetName::parse("customer-churn").expect("dataset"),
        fingerprint,
        task: wb_datasets::TaskKind::Classification,
        inputs: wb_compare::report::InputKind::Tabular,
        classes: vec!["stays".into(), "churns".into()],
        positive_class: Some("churns".into()),
        test_rows: 300,
        row_id_column: Some("customer_id".into()),
        settings: Settings {
            batch_size: 100,
            concurrency: 4,
            max_attempts: 3,
            seed: 42,
            resamples: 1000,
            confidence: 0.95,
            alpha: 0.05,
            allow_foreign: true,
            slice_by: Some("plan".into()),
            importance_budget: 200,
        },
        primary_metric: "roc_auc".into(),
        higher_is_better: true,
        warnings: vec![format!(
            "{} is included with --allow-foreign: it was trained on partition {} <not the scored one>",
            MODELS[2],
            ContentHash::of_bytes(b"an older partition").short(12)
        )],
        models,
        failures: vec![ModelFailure {
            model: name(FAILED),
            endpoint: EndpointName::parse("svm-churn-ep").expect("endpoint"),
            error: "endpoint \"svm-churn-ep\" is not InService (status <Failed> & unreachable)".into(),
        }],
        leaderboard,
        comparisons: Vec::new(),
        timings: Timings { load_ms: 35, scoring_ms: 1320, statistics_ms: 2210, explanations_ms: 5830, total_ms: 9410 },
    };
    report.comparisons = vec![
        comparison(&report, 0, 1, 0.0017, 0.0034, true),
        comparison(&report, 0, 2, 0.00004, 0.0002, true),
        comparison(&report, 1, 2, 0.021, 0.021, true),
    ];
    report
}

/// A local store in `dir`.
pub(crate) fn store(dir: &std::path::Path) -> DynObjectStore {
    Arc::new(LocalStore::open(dir).expect("open local store"))
}

/// Writes `report` with every rendered file, as `wb compare` does.
pub(crate) async fn write_report(store: &DynObjectStore, report: &Report) {
    reports::write(store, report, render::files(report)).await.expect("write report");
}
