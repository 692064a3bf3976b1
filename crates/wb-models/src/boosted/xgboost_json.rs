//! Reading XGBoost's JSON model format (`Booster.save_model("m.json")`, XGBoost 1.0 and later).
//!
//! Supported: the `gbtree` booster with numerical splits and one value per leaf, the objectives
//! of [`Objective`], any number of parallel trees. Refused with the reason: `gblinear` and
//! `dart` boosters, categorical splits, vector leaves (multi-target trees), other objectives,
//! versions before 1.0, and files that are not JSON (XGBoost's binary and UBJSON formats).

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{BoostedTree, BoostedTrees, Objective};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct ModelFile {
    learner: Learner,
    version: Vec<u64>,
}

#[derive(Deserialize)]
struct Learner {
    gradient_booster: serde_json::Value,
    learner_model_param: LearnerModelParam,
    objective: NamedObjective,
    #[serde(default)]
    feature_names: Vec<String>,
}

#[derive(Deserialize)]
struct LearnerModelParam {
    base_score: String,
    #[serde(default)]
    num_class: Option<String>,
    num_feature: String,
    #[serde(default)]
    num_target: Option<String>,
}

#[derive(Deserialize)]
struct NamedObjective {
    name: String,
}

#[derive(Deserialize)]
struct GbtreeModel {
    tree_info: Vec<u32>,
    trees: Vec<JsonTree>,
}

#[derive(Deserialize)]
struct JsonTree {
    left_children: Vec<i32>,
    right_children: Vec<i32>,
    split_indices: Vec<u32>,
    split_conditions: Vec<f32>,
    default_left: Vec<serde_json::Value>,
    #[serde(default)]
    split_type: Vec<u8>,
    tree_param: TreeParam,
}

#[derive(Deserialize)]
struct TreeParam {
    #[serde(default)]
    size_leaf_vector: Option<String>,
}

/// The message of an artefact error (without its "model artefact …:" prefix).
fn message(e: Error) -> String {
    match e {
        Error::Artifact { message, .. } => message,
        other => other.to_string(),
    }
}

fn refuse(message: impl Into<String>) -> Error {
    Error::Artifact { what: "XGBoost JSON model".into(), message: message.into() }
}

fn parse<T: DeserializeOwned>(value: serde_json::Value, what: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|e| refuse(format!("{what}: {e}")))
}

fn number(text: &str, what: &str) -> Result<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| refuse(format!("{what} {text:?} is not a number")))
}

fn count(text: Option<&str>, what: &str) -> Result<usize> {
    let Some(text) = text else { return Ok(0) };
    text.trim().parse::<usize>().map_err(|_| refuse(format!("{what} {text:?} is not a count")))
}

/// `base_score` as XGBoost writes it: `"5E-1"` (before 3.0) or `"[5E-1]"` / `"[1E-1,2E-1]"`.
fn base_scores(text: &str) -> Result<Vec<f64>> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner.split(',').map(|v| number(v, "base_score")).collect()
}

impl BoostedTrees {
    /// Reads a model in XGBoost's JSON format (`Booster.save_model("model.json")`).
    ///
    /// The margins start from `base_score` (mapped through the objective's link, as XGBoost's
    /// `ProbToMargin` does) and sum every tree of their group; XGBoost's `best_iteration`
    /// attribute is not applied (as `Booster.predict` without `iteration_range`).
    ///
    /// # Errors
    /// [`Error::Artifact`] naming what is unsupported or malformed: not JSON (XGBoost's binary
    /// or UBJSON formats: save with a `.json` name), a version before 1.0, a `gblinear` or `dart`
    /// booster, an objective other than those of [`Objective`], categorical splits, vector leaves,
    /// no features, or node arrays that do not form trees.
    pub fn from_xgboost_json(bytes: &[u8]) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            let hint = if bytes.first() == Some(&b'{')
                && bytes.get(1).is_some_and(|b| !b.is_ascii_whitespace() && *b != b'"' && *b != b'}')
            {
                " (this looks like XGBoost's UBJSON format: save the model with a .json name)"
            } else if bytes.first() != Some(&b'{') {
                " (this looks like XGBoost's binary format: load it with xgboost and save it with a .json name)"
            } else {
                ""
            };
            refuse(format!("not JSON: {e}{hint}"))
        })?;
        let file: ModelFile = parse(value, "not an XGBoost model")?;
        if file.version.first().is_none_or(|major| *major < 1) {
            return Err(refuse(format!(
                "version {:?} is not supported: the JSON format is read from XGBoost 1.0 on",
                file.version
            )));
        }
        let learner = file.learner;
        let objective = Objective::parse(&learner.objective.name).ok_or_else(|| {
            refuse(format!(
                "objective {:?} is not supported; supported: {}",
                learner.objective.name,
                Objective::ALL.map(Objective::name).join(", ")
            ))
        })?;
        let booster = learner.gradient_booster;
        let name = booster.get("name").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        match name.as_str() {
            "gbtree" => {}
            "dart" => {
                return Err(refuse(
                    "the dart booster is not supported (its trees carry drop-out weights); train with booster=gbtree",
                ));
            }
            "gblinear" => {
                return Err(refuse(
                    "the gblinear booster is not supported (a linear model, not trees); train with booster=gbtree",
                ));
            }
            other => return Err(refuse(format!("booster {other:?} is not supported; only gbtree is"))),
        }
        let model = booster.get("model").cloned().ok_or_else(|| refuse("the gbtree booster has no model"))?;
        let model: GbtreeModel = parse(model, "the gbtree model")?;

        let params = &learner.learner_model_param;
        let features = count(Some(&params.num_feature), "num_feature")?;
        if features == 0 {
            return Err(refuse("num_feature is 0"));
        }
        if !learner.feature_names.is_empty() && learner.feature_names.len() != features {
            return Err(refuse(format!("{} feature names but num_feature is {features}", learner.feature_names.len())));
        }
        if count(params.num_target.as_deref(), "num_target")? > 1 {
            return Err(refuse("multi-target models are not supported"));
        }
        let num_class = count(params.num_class.as_deref(), "num_class")?;
        let groups = if objective.is_multiclass() {
            if num_class < 2 {
                return Err(refuse(format!("{objective} with num_class {num_class}; expected at least 2")));
            }
            num_class
        } else {
            1
        };
        let scores = base_scores(&params.base_score)?;
        let scores = match scores.len() {
            1 => vec![scores[0]; groups],
            n if n == groups => scores,
            n => return Err(refuse(format!("{n} base scores for {groups} output group(s)"))),
        };
        let base_margin = scores
            .iter()
            .map(|&s| {
                objective.base_margin(s).map(|m| m as f32).ok_or_else(|| {
                    refuse(format!("base_score {s} has no margin under {objective} (expected a probability in (0, 1))"))
                })
            })
            .collect::<Result<Vec<f32>>>()?;

        if model.tree_info.len() != model.trees.len() {
            return Err(refuse(format!(
                "{} trees but {} entries in tree_info",
                model.trees.len(),
                model.tree_info.len()
            )));
        }
        let mut trees = Vec::with_capacity(model.trees.len());
        for (t, tree) in model.trees.into_iter().enumerate() {
            let at = |message: String| refuse(format!("tree {t}: {message}"));
            if count(tree.tree_param.size_leaf_vector.as_deref(), "size_leaf_vector")? > 1 {
                return Err(at("vector leaves (multi-target trees) are not supported".into()));
            }
            if tree.split_type.iter().any(|&s| s != 0) {
                return Err(at("categorical splits are not supported; encode categories as numbers".into()));
            }
            let default_left = tree
                .default_left
                .iter()
                .map(|v| match v {
                    serde_json::Value::Bool(b) => Ok(*b),
                    serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
                    serde_json::Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
                    other => Err(at(format!("default_left holds {other}, expected 0, 1 or a boolean"))),
                })
                .collect::<Result<Vec<bool>>>()?;
            let tree = BoostedTree::new(
                tree.left_children,
                tree.right_children,
                tree.split_indices,
                tree.split_conditions,
                default_left,
            )
            .map_err(|e| at(message(e)))?;
            trees.push(tree);
        }
        Self::new(objective, features, base_margin, trees, model.tree_info).map_err(|e| refuse(message(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-stump binary model as XGBoost 2.1 writes it (trimmed to the fields read).
    fn model_json(booster: &str, objective: &str, base_score: &str, split_type: u8) -> String {
        format!(
            r#"{{"learner":{{"attributes":{{}},"feature_names":[],"feature_types":[],
            "gradient_booster":{{"model":{{"gbtree_model_param":{{"num_parallel_tree":"1","num_trees":"2"}},
            "iteration_indptr":[0,1,2],"tree_info":[0,0],"trees":[
              {{"base_weights":[0,0,0],"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[],
               "default_left":[1,0,0],"id":0,"left_children":[1,-1,-1],"loss_changes":[1,0,0],"parents":[2147483647,0,0],
               "right_children":[2,-1,-1],"split_conditions":[5E-1,-2E-1,3E-1],"split_indices":[0,0,0],"split_type":[{split_type},0,0],
               "sum_hessian":[1,1,1],"tree_param":{{"num_deleted":"0","num_feature":"2","num_nodes":"3","size_leaf_vector":"1"}}}},
              {{"base_weights":[0,0,0],"default_left":[0,0,0],"id":1,"left_children":[1,-1,-1],"right_children":[2,-1,-1],
               "split_conditions":[1.5E0,1E-1,-1E-1],"split_indices":[1,0,0],"split_type":[0,0,0],
               "tree_param":{{"num_deleted":"0","num_feature":"2","num_nodes":"3","size_leaf_vector":"1"}}}}]}},
            "name":"{booster}"}},
            "learner_model_param":{{"base_score":"{base_score}","boost_from_average":"1","num_class":"0","num_feature":"2","num_target":"1"}},
            "objective":{{"name":"{objective}","reg_loss_param":{{"scale_pos_weight":"1"}}}}}},
            "version":[2,1,3]}}"#
        )
    }

    #[test]
    fn a_gbtree_model_reads_and_predicts_its_margins() {
        let model = BoostedTrees::from_xgboost_json(model_json("gbtree", "binary:logistic", "5E-1", 0).as_bytes())
            .expect("a supported model");
        assert_eq!((model.n_features(), model.classes(), model.rounds()), (2, Some(2), 2));
        let mut out = [0.0; 2];
        // Tree 0: 0.2 < 0.5 → -0.2; tree 1: 2.0 ≥ 1.5 → -0.1; base 0.5 → margin 0.
        model.predict_row(&[0.2, 2.0], &mut out);
        let p = 1.0 / (1.0 + 0.3_f64.exp());
        assert!((out[1] - p).abs() < 1e-6, "{out:?}");
        // Missing feature 0 goes left in tree 0; missing feature 1 goes right in tree 1.
        model.predict_row(&[f64::NAN, f64::NAN], &mut out);
        assert!((out[1] - p).abs() < 1e-6, "{out:?}");
        // XGBoost 3's bracketed base score reads the same.
        let three = BoostedTrees::from_xgboost_json(model_json("gbtree", "binary:logistic", "[5E-1]", 0).as_bytes())
            .expect("a bracketed base score");
        assert_eq!(three, model);
        let shifted = BoostedTrees::from_xgboost_json(model_json("gbtree", "reg:squarederror", "2E0", 0).as_bytes())
            .expect("regression");
        let mut value = [0.0];
        shifted.predict_row(&[0.2, 2.0], &mut value);
        assert!((value[0] - 1.7).abs() < 1e-6, "{value:?}");
    }

    #[test]
    fn unsupported_models_are_refused_with_the_reason() {
        let refused = |json: &str| BoostedTrees::from_xgboost_json(json.as_bytes()).expect_err("refused").to_string();
        assert!(refused(&model_json("dart", "binary:logistic", "5E-1", 0)).contains("dart booster is not supported"));
        assert!(refused(&model_json("gblinear", "binary:logistic", "5E-1", 0)).contains("gblinear booster"));
        let objective = refused(&model_json("gbtree", "rank:pairwise", "5E-1", 0));
        assert!(
            objective.contains("\"rank:pairwise\" is not supported") && objective.contains("binary:logistic"),
            "{objective}"
        );
        assert!(refused(&model_json("gbtree", "binary:logistic", "5E-1", 1)).contains("tree 0: categorical splits"));
        assert!(refused(&model_json("gbtree", "binary:logistic", "1E0", 0)).contains("base_score 1 has no margin"));
        let old = model_json("gbtree", "binary:logistic", "5E-1", 0).replace("[2,1,3]", "[0,90,0]");
        assert!(refused(&old).contains("from XGBoost 1.0 on"));
        assert!(refused("binf\u{0}\u{0}").contains("binary format"));
        assert!(refused("{i\u{7}learner").contains("UBJSON"));
        assert!(refused("{\"learner\": 3}").contains("not an XGBoost model"));
    }
}
