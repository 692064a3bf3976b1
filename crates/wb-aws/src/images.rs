//! SageMaker's built-in algorithms: their training images per region, the content type of their
//! channels and the hyperparameters they cannot train without.
//!
//! Built-in algorithm images live in AWS-owned ECR registries whose account differs by region (and
//! by algorithm), so the URI cannot be derived from the region alone. The tables below are copied
//! from the SageMaker Python SDK, which is where AWS publishes them in machine-readable form.
//!
//! ```
//! use wb_aws::images::BuiltinAlgorithm;
//!
//! let xgboost = BuiltinAlgorithm::parse("xgboost").expect("a built-in algorithm");
//! assert_eq!(
//!     xgboost.image_uri("eu-west-1")?,
//!     "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
//! );
//! assert_eq!(xgboost.content_type(), "text/csv");
//! // `objective` and `num_round` are filled with the workbench's defaults.
//! let hyperparameters = xgboost.fill_hyperparameters(&Default::default())?;
//! assert_eq!(hyperparameters["objective"], "reg:squarederror");
//! # Ok::<(), wb_aws::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result};

/// `(region, registry account)` of the XGBoost `1.7-1` training image (repository
/// `sagemaker-xgboost`).
///
/// Source: aws/sagemaker-python-sdk, `src/sagemaker/image_uri_config/xgboost.json`, section
/// `training`, version `1.7-1` (commit 02ed3cbfd8f1c519f8a829b545bb78a47a538546), read on
/// 2026-11-23.
const XGBOOST_REGISTRIES: &[(&str, &str)] = &[
    ("af-south-1", "510948584623"),
    ("ap-east-1", "651117190479"),
    ("ap-northeast-1", "354813040037"),
    ("ap-northeast-2", "366743142698"),
    ("ap-northeast-3", "867004704886"),
    ("ap-south-1", "720646828776"),
    ("ap-south-2", "628508329040"),
    ("ap-southeast-1", "121021644041"),
    ("ap-southeast-2", "783357654285"),
    ("ap-southeast-3", "951798379941"),
    ("ap-southeast-4", "106583098589"),
    ("ca-central-1", "341280168497"),
    ("ca-west-1", "190319476487"),
    ("cn-north-1", "450853457545"),
    ("cn-northwest-1", "451049120500"),
    ("eu-central-1", "492215442770"),
    ("eu-central-2", "680994064768"),
    ("eu-north-1", "662702820516"),
    ("eu-south-1", "978288397137"),
    ("eu-south-2", "104374241257"),
    ("eu-west-1", "141502667606"),
    ("eu-west-2", "764974769150"),
    ("eu-west-3", "659782779980"),
    ("il-central-1", "898809789911"),
    ("me-central-1", "272398656194"),
    ("me-south-1", "801668240914"),
    ("sa-east-1", "737474898029"),
    ("us-east-1", "683313688378"),
    ("us-east-2", "257758044811"),
    ("us-gov-east-1", "237065988967"),
    ("us-gov-west-1", "414596584902"),
    ("us-iso-east-1", "833128469047"),
    ("us-isob-east-1", "281123927165"),
    ("us-isof-east-1", "108575199400"),
    ("us-isof-south-1", "124985052026"),
    ("us-west-1", "746614075791"),
    ("us-west-2", "246618743249"),
];

/// `(region, registry account)` of the Linear Learner training image, version `1` (repository
/// `linear-learner`).
///
/// Source: aws/sagemaker-python-sdk, `src/sagemaker/image_uri_config/linear-learner.json`,
/// version `1` (commit 64fee3efb9a1cd039a3202acfaf6df81e97b2d8f), read on 2026-11-23.
const LINEAR_LEARNER_REGISTRIES: &[(&str, &str)] = &[
    ("af-south-1", "455444449433"),
    ("ap-east-1", "286214385809"),
    ("ap-northeast-1", "351501993468"),
    ("ap-northeast-2", "835164637446"),
    ("ap-northeast-3", "867004704886"),
    ("ap-south-1", "991648021394"),
    ("ap-southeast-1", "475088953585"),
    ("ap-southeast-2", "712309505854"),
    ("ca-central-1", "469771592824"),
    ("cn-north-1", "390948362332"),
    ("cn-northwest-1", "387376663083"),
    ("eu-central-1", "664544806723"),
    ("eu-north-1", "669576153137"),
    ("eu-south-1", "257386234256"),
    ("eu-west-1", "438346466558"),
    ("eu-west-2", "644912444149"),
    ("eu-west-3", "749696950732"),
    ("me-south-1", "249704162688"),
    ("sa-east-1", "855470959533"),
    ("us-east-1", "382416733822"),
    ("us-east-2", "404615174143"),
    ("us-gov-west-1", "226302683700"),
    ("us-iso-east-1", "490574956308"),
    ("us-west-1", "632365934929"),
    ("us-west-2", "174872318107"),
];

/// `(region, registry account)` of the Image Classification training image, version `1`
/// (repository `image-classification`).
///
/// Source: aws/sagemaker-python-sdk, `src/sagemaker/image_uri_config/image-classification.json`,
/// version `1` (commit 9c55351363ab1cf6c90016638f10e441b12e347e), read on 2026-11-23.
const IMAGE_CLASSIFICATION_REGISTRIES: &[(&str, &str)] = &[
    ("af-south-1", "455444449433"),
    ("ap-east-1", "286214385809"),
    ("ap-northeast-1", "501404015308"),
    ("ap-northeast-2", "306986355934"),
    ("ap-northeast-3", "867004704886"),
    ("ap-south-1", "991648021394"),
    ("ap-south-2", "628508329040"),
    ("ap-southeast-1", "475088953585"),
    ("ap-southeast-2", "544295431143"),
    ("ap-southeast-3", "951798379941"),
    ("ap-southeast-4", "106583098589"),
    ("ca-central-1", "469771592824"),
    ("ca-west-1", "190319476487"),
    ("cn-north-1", "390948362332"),
    ("cn-northwest-1", "387376663083"),
    ("eu-central-1", "813361260812"),
    ("eu-central-2", "680994064768"),
    ("eu-north-1", "669576153137"),
    ("eu-south-1", "257386234256"),
    ("eu-south-2", "104374241257"),
    ("eu-west-1", "685385470294"),
    ("eu-west-2", "644912444149"),
    ("eu-west-3", "749696950732"),
    ("il-central-1", "898809789911"),
    ("me-central-1", "272398656194"),
    ("me-south-1", "249704162688"),
    ("sa-east-1", "855470959533"),
    ("us-east-1", "811284229777"),
    ("us-east-2", "825641698319"),
    ("us-gov-east-1", "237065988967"),
    ("us-gov-west-1", "226302683700"),
    ("us-iso-east-1", "490574956308"),
    ("us-isob-east-1", "765400339828"),
    ("us-west-1", "632365934929"),
    ("us-west-2", "433757028032"),
];

/// A SageMaker built-in algorithm the workbench can train with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum BuiltinAlgorithm {
    /// XGBoost (`xgboost`), gradient-boosted trees on CSV.
    Xgboost,
    /// Linear Learner (`linear-learner`), linear models on CSV.
    LinearLearner,
    /// Image Classification (`image-classification`), a ResNet on images.
    ImageClassification,
}

impl BuiltinAlgorithm {
    /// Every built-in algorithm, in a stable order.
    pub const ALL: [Self; 3] = [Self::Xgboost, Self::LinearLearner, Self::ImageClassification];

    /// The algorithm named `name` (`xgboost`, `linear-learner`, `image-classification`), or
    /// `None`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The algorithm's name, as [`BuiltinAlgorithm::parse`] accepts it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Xgboost => "xgboost",
            Self::LinearLearner => "linear-learner",
            Self::ImageClassification => "image-classification",
        }
    }

    /// The image version (tag) the workbench trains with.
    #[must_use]
    pub fn version(self) -> &'static str {
        match self {
            Self::Xgboost => "1.7-1",
            Self::LinearLearner | Self::ImageClassification => "1",
        }
    }

    /// The ECR repository of the training image.
    fn repository(self) -> &'static str {
        match self {
            Self::Xgboost => "sagemaker-xgboost",
            Self::LinearLearner => "linear-learner",
            Self::ImageClassification => "image-classification",
        }
    }

    fn registries(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Xgboost => XGBOOST_REGISTRIES,
            Self::LinearLearner => LINEAR_LEARNER_REGISTRIES,
            Self::ImageClassification => IMAGE_CLASSIFICATION_REGISTRIES,
        }
    }

    /// The regions that publish the image, sorted.
    #[must_use]
    pub fn regions(self) -> Vec<&'static str> {
        self.registries().iter().map(|(region, _)| *region).collect()
    }

    /// The training image in `region`:
    /// `<account>.dkr.ecr.<region>.<domain>/<repository>:<version>`, where the domain is the
    /// region's partition's (`amazonaws.com`, `amazonaws.com.cn` for China, ...).
    ///
    /// # Errors
    /// [`Error::NoImage`] listing the regions that have the image, when `region` has none.
    pub fn image_uri(self, region: &str) -> Result<String> {
        let Some((_, account)) = self.registries().iter().find(|(r, _)| *r == region) else {
            return Err(Error::NoImage {
                algorithm: self.name().to_owned(),
                region: region.to_owned(),
                available: self.regions().join(", "),
            });
        };
        Ok(format!("{account}.dkr.ecr.{region}.{}/{}:{}", dns_suffix(region), self.repository(), self.version()))
    }

    /// The content type of the algorithm's training channels (`train`, `validation`).
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xgboost | Self::LinearLearner => "text/csv",
            Self::ImageClassification => "application/x-image",
        }
    }

    /// The hyperparameters a job must set. For XGBoost, SageMaker itself requires only
    /// `num_round` (and `num_class` for the `multi:*` objectives); the workbench also always sets
    /// `objective`, so that the task is explicit. Linear Learner requires `predictor_type` (and
    /// `num_classes` for `multiclass_classifier`); Image Classification `num_classes` and
    /// `num_training_samples`.
    #[must_use]
    pub fn required_hyperparameters(self) -> &'static [&'static str] {
        match self {
            Self::Xgboost => &["num_round", "objective"],
            Self::LinearLearner => &["predictor_type"],
            Self::ImageClassification => &["num_classes", "num_training_samples"],
        }
    }

    /// The workbench's defaults for required hyperparameters that have a sensible value
    /// regardless of the data (XGBoost: 100 rounds of `reg:squarederror`, SageMaker's default
    /// objective). The others depend on the task or the data set and must be given.
    #[must_use]
    pub fn default_hyperparameters(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Xgboost => &[("num_round", "100"), ("objective", "reg:squarederror")],
            Self::LinearLearner | Self::ImageClassification => &[],
        }
    }

    /// `given` with [`BuiltinAlgorithm::default_hyperparameters`] added where absent.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first required hyperparameter that is still missing
    /// (including those a given value makes necessary, such as XGBoost's `num_class` for
    /// `objective=multi:softmax`).
    pub fn fill_hyperparameters(self, given: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
        let mut filled = given.clone();
        for (key, value) in self.default_hyperparameters() {
            filled.entry((*key).to_owned()).or_insert_with(|| (*value).to_owned());
        }
        let conditional: &[&str] = match self {
            Self::Xgboost if filled.get("objective").is_some_and(|o| o.starts_with("multi:")) => &["num_class"],
            Self::LinearLearner if filled.get("predictor_type").is_some_and(|p| p == "multiclass_classifier") => {
                &["num_classes"]
            }
            _ => &[],
        };
        let required = self.required_hyperparameters().iter().chain(conditional);
        if let Some(missing) = required.into_iter().find(|key| !filled.contains_key(**key)) {
            return Err(Error::Invalid {
                field: "hyperparameters",
                value: format!("no {missing}"),
                expected: format!("{missing} (required by SageMaker's {self} algorithm)"),
            });
        }
        Ok(filled)
    }
}

impl fmt::Display for BuiltinAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// The DNS suffix of the region's partition (botocore's `endpoints.json`: `aws-cn` is
/// `amazonaws.com.cn`, the isolated partitions have their own, the rest `amazonaws.com`).
pub(crate) fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("us-isob-") {
        "sc2s.sgov.gov"
    } else if region.starts_with("us-isof-") {
        "csp.hci.ic.gov"
    } else if region.starts_with("us-iso-") {
        "c2s.ic.gov"
    } else {
        "amazonaws.com"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for algorithm in BuiltinAlgorithm::ALL {
            assert_eq!(BuiltinAlgorithm::parse(algorithm.name()), Some(algorithm));
            assert_eq!(algorithm.to_string(), algorithm.name());
        }
        assert_eq!(BuiltinAlgorithm::parse("linear-learner"), Some(BuiltinAlgorithm::LinearLearner));
        for unknown in ["", "XGBoost", "linear_learner", "kmeans"] {
            assert_eq!(BuiltinAlgorithm::parse(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn image_uris_match_the_python_sdk_tables() {
        // Values as read in the SageMaker Python SDK's image_uri_config files.
        let cases = [
            (
                BuiltinAlgorithm::Xgboost,
                "us-east-1",
                "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            ),
            (
                BuiltinAlgorithm::Xgboost,
                "eu-west-1",
                "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            ),
            (
                BuiltinAlgorithm::Xgboost,
                "ap-southeast-2",
                "783357654285.dkr.ecr.ap-southeast-2.amazonaws.com/sagemaker-xgboost:1.7-1",
            ),
            (
                BuiltinAlgorithm::Xgboost,
                "cn-north-1",
                "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1",
            ),
            (
                BuiltinAlgorithm::Xgboost,
                "us-iso-east-1",
                "833128469047.dkr.ecr.us-iso-east-1.c2s.ic.gov/sagemaker-xgboost:1.7-1",
            ),
            (
                BuiltinAlgorithm::LinearLearner,
                "us-east-1",
                "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
            ),
            (
                BuiltinAlgorithm::LinearLearner,
                "us-west-2",
                "174872318107.dkr.ecr.us-west-2.amazonaws.com/linear-learner:1",
            ),
            (
                BuiltinAlgorithm::LinearLearner,
                "cn-northwest-1",
                "387376663083.dkr.ecr.cn-northwest-1.amazonaws.com.cn/linear-learner:1",
            ),
            (
                BuiltinAlgorithm::ImageClassification,
                "us-east-1",
                "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
            ),
            (
                BuiltinAlgorithm::ImageClassification,
                "eu-central-1",
                "813361260812.dkr.ecr.eu-central-1.amazonaws.com/image-classification:1",
            ),
            (
                BuiltinAlgorithm::ImageClassification,
                "us-isob-east-1",
                "765400339828.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/image-classification:1",
            ),
        ];
        for (algorithm, region, uri) in cases {
            assert_eq!(algorithm.image_uri(region).expect(region), uri);
        }
    }

    #[test]
    fn tables_are_sorted_unique_and_well_formed() {
        for algorithm in BuiltinAlgorithm::ALL {
            let registries = algorithm.registries();
            assert!(registries.windows(2).all(|w| w[0].0 < w[1].0), "{algorithm}: sorted, no duplicates");
            for (region, account) in registries {
                assert!(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()), "{region}: {account}");
                assert!(region.split('-').count() >= 3, "{region}");
            }
        }
        assert_eq!(BuiltinAlgorithm::Xgboost.regions().len(), 37);
        assert_eq!(BuiltinAlgorithm::LinearLearner.regions().len(), 25);
        assert_eq!(BuiltinAlgorithm::ImageClassification.regions().len(), 35);
    }

    #[test]
    fn an_unknown_region_lists_the_regions_that_have_the_image() {
        let err = BuiltinAlgorithm::LinearLearner.image_uri("ap-south-2").expect_err("not published there");
        let text = err.to_string();
        assert!(
            text.starts_with("SageMaker publishes no linear-learner image in region ap-south-2; it is available in: af-south-1, ap-east-1,"),
            "{text}"
        );
        assert!(text.ends_with("us-west-1, us-west-2"), "{text}");
        assert!(matches!(&err, Error::NoImage { region, .. } if region == "ap-south-2"), "{err:?}");
        // ... while XGBoost is published in ap-south-2.
        assert!(BuiltinAlgorithm::Xgboost.image_uri("ap-south-2").is_ok());
        assert!(BuiltinAlgorithm::Xgboost.image_uri("mars-north-1").is_err());
    }

    #[test]
    fn content_types_of_the_training_channels() {
        assert_eq!(BuiltinAlgorithm::Xgboost.content_type(), "text/csv");
        assert_eq!(BuiltinAlgorithm::LinearLearner.content_type(), "text/csv");
        assert_eq!(BuiltinAlgorithm::ImageClassification.content_type(), "application/x-image");
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn hyperparameters_are_filled_or_the_missing_one_named() {
        let xgb = BuiltinAlgorithm::Xgboost.fill_hyperparameters(&params(&[("max_depth", "4")])).expect("defaults");
        assert_eq!(xgb, params(&[("max_depth", "4"), ("num_round", "100"), ("objective", "reg:squarederror")]));
        let given = params(&[("num_round", "7"), ("objective", "binary:logistic")]);
        assert_eq!(BuiltinAlgorithm::Xgboost.fill_hyperparameters(&given).expect("given"), given, "given values win");

        let multi = BuiltinAlgorithm::Xgboost.fill_hyperparameters(&params(&[("objective", "multi:softmax")]));
        assert_eq!(
            multi.expect_err("num_class").to_string(),
            "invalid hyperparameters \"no num_class\": expected num_class (required by SageMaker's xgboost algorithm)"
        );

        let ll = BuiltinAlgorithm::LinearLearner.fill_hyperparameters(&BTreeMap::new()).expect_err("predictor_type");
        assert!(
            matches!(&ll, Error::Invalid { field: "hyperparameters", value, .. } if value == "no predictor_type"),
            "{ll}"
        );
        let ll = BuiltinAlgorithm::LinearLearner
            .fill_hyperparameters(&params(&[("predictor_type", "multiclass_classifier")]))
            .expect_err("num_classes");
        assert!(ll.to_string().contains("no num_classes"), "{ll}");
        assert!(
            BuiltinAlgorithm::LinearLearner.fill_hyperparameters(&params(&[("predictor_type", "regressor")])).is_ok()
        );

        let ic = BuiltinAlgorithm::ImageClassification.fill_hyperparameters(&params(&[("num_classes", "2")]));
        assert!(ic.expect_err("samples").to_string().contains("no num_training_samples"));
        for algorithm in BuiltinAlgorithm::ALL {
            for (key, _) in algorithm.default_hyperparameters() {
                assert!(
                    algorithm.required_hyperparameters().contains(key),
                    "{algorithm}: defaults only for required keys"
                );
            }
        }
    }
}
