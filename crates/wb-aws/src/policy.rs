//! The least-privilege IAM policy the workbench needs, generated from a project's configuration.
//!
//! [`PERMISSIONS`] is the single source of truth: every IAM action the workbench's AWS backend
//! needs, why, which statement of the document it belongs to ([`Scope`]) and which SDK calls in
//! this crate need it. [`project_policy`] turns it into an identity policy document for one
//! project — S3 access below the store's prefix only, SageMaker creates only with the project's
//! tag, changes only to resources carrying that tag, `iam:PassRole` of exactly the project's
//! role to SageMaker, and the project's KMS key when it has one. A unit test reads this crate's
//! sources and fails when a call is made that [`PERMISSIONS`] does not cover, or when
//! [`PERMISSIONS`] grants something no code calls, so the policy cannot drift from the code.
//!
//! ```
//! use wb_aws::policy::{PolicyScope, project_policy, project_policy_without};
//!
//! let scope = PolicyScope {
//!     bucket: "my-bucket".into(),
//!     prefix: Some("team/wb".into()),
//!     role_arn: "arn:aws:iam::123456789012:role/workbench".into(),
//!     tag_key: wb_core::PROJECT_TAG.into(),
//!     project: "wine".into(),
//!     region: Some("eu-west-1".into()),
//!     account: Some("123456789012".into()),
//!     kms_key_id: None,
//! };
//! let document = project_policy(&scope);
//! assert_eq!(document["Version"], "2012-10-17");
//! let text = serde_json::to_string_pretty(&document).expect("a JSON value serializes");
//! assert!(text.contains("arn:aws:s3:::my-bucket/team/wb/*"));
//!
//! // The same document without one action, e.g. to check what breaks without it.
//! let reduced = project_policy_without(&scope, "s3:DeleteObject");
//! assert!(!serde_json::to_string(&reduced).expect("serializes").contains("s3:DeleteObject"));
//! ```
//!
//! Statements that are not obvious:
//!
//! * Describe calls and `sagemaker:ListTags` are scoped to the workbench's resource types but
//!   carry **no** tag condition: the workbench describes an endpoint to learn whether it exists
//!   before creating it, and reads the tags of every listed resource to find the project's own;
//!   with an `aws:ResourceTag` condition both would be refused (a resource that does not exist,
//!   or belongs to someone else, has no project tag).
//! * A model package version takes its group's tags and refuses tags of its own, so
//!   `sagemaker:CreateModelPackage` sits with the `aws:ResourceTag` statement (the group must be
//!   the project's), not with the tag-on-create statement.
//! * `s3:ListBucket` is limited to `s3:prefix` values below `<prefix>/`: the store always lists
//!   with the trailing slash, and the bare prefix would also list sibling keys (`<prefix>x/...`).
//! * `sagemaker:AddTags` (which SageMaker requires for tags on create) is limited by the
//!   request's tag only, so it would also let a user put the project's tag on an existing
//!   resource of these types, and with it the resource under the `aws:ResourceTag` statement.
//! * The hosted workflow's functions and state machine are named `wb-*` (`wb-<endpoint>-serialize`,
//!   `wb-<endpoint>-workflow`, …): the workflow statements are limited to those names, creates to
//!   the project's tag in the request and changes (updates, deletes, `StartExecution`) to
//!   resources carrying it. The role is passed to Lambda and Step Functions as well as SageMaker,
//!   so its trust policy must name `lambda.amazonaws.com` and `states.amazonaws.com` too.
//! * The document is about 4,500 characters (5,500 with long names), more than the 2,048 IAM
//!   allows a user's inline policies: attach it as a customer managed policy (6,144), or inline
//!   on a role (10,240).

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// The statement a permission belongs to; each has its own resources and conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Objects below the store's prefix (`arn:aws:s3:::BUCKET/PREFIX/*`).
    StoreObjects,
    /// Listing the bucket, only below the store's prefix (`s3:prefix` condition).
    StoreListing,
    /// SageMaker creates, only with the project's tag in the request (`aws:RequestTag`).
    CreateTagged,
    /// Reading SageMaker resources of the workbench's types (describe, list tags) and the
    /// workflow's functions, state machines and executions (configuration, tags, status and
    /// history); no tag condition (see the module docs).
    ReadResources,
    /// Changing or using SageMaker resources that carry the project's tag (`aws:ResourceTag`).
    ProjectResources,
    /// Lambda and Step Functions creates (the hosted workflow's functions and state machine,
    /// named `wb-*`), only with the project's tag in the request (`aws:RequestTag`).
    CreateWorkflows,
    /// Changing, deleting and starting the workflow's functions and state machines that carry
    /// the project's tag (`aws:ResourceTag`).
    ChangeWorkflows,
    /// List calls (SageMaker, Lambda, Step Functions), which allow no resource scoping (`*`).
    Unscoped,
    /// Passing the project's role to SageMaker (`iam:PassedToService`).
    PassRole,
    /// Using the project's KMS key (only when one is configured).
    Kms,
    /// Letting SageMaker use the project's KMS key through grants (only when one is configured;
    /// `kms:GrantIsForAWSResource`).
    KmsGrant,
}

impl Scope {
    /// Every scope, in the order the statements appear in the document.
    pub const ALL: [Scope; 11] = [
        Scope::StoreObjects,
        Scope::StoreListing,
        Scope::CreateTagged,
        Scope::ReadResources,
        Scope::ProjectResources,
        Scope::CreateWorkflows,
        Scope::ChangeWorkflows,
        Scope::Unscoped,
        Scope::PassRole,
        Scope::Kms,
        Scope::KmsGrant,
    ];

    /// The statement's `Sid`.
    #[must_use]
    pub const fn sid(self) -> &'static str {
        match self {
            Scope::StoreObjects => "StoreObjects",
            Scope::StoreListing => "StoreListing",
            Scope::CreateTagged => "CreateTaggedSageMakerResources",
            Scope::ReadResources => "ReadResources",
            Scope::ProjectResources => "ChangeProjectSageMakerResources",
            Scope::CreateWorkflows => "CreateTaggedWorkflows",
            Scope::ChangeWorkflows => "ChangeProjectWorkflows",
            Scope::Unscoped => "ListResources",
            Scope::PassRole => "PassRoleToServices",
            Scope::Kms => "UseProjectKmsKey",
            Scope::KmsGrant => "GrantProjectKmsKeyToSageMaker",
        }
    }
}

/// One IAM action the workbench needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// The IAM action (`s3:PutObject`, `sagemaker:CreateEndpoint`, ...).
    pub action: &'static str,
    /// Why the workbench needs it.
    pub why: &'static str,
    /// The statement it goes in.
    pub scope: Scope,
    /// The SDK calls in this crate that need it, as `<client>.<operation>` with the client
    /// `s3`, `sagemaker` or `sagemaker-runtime` and the SDK's snake-case operation
    /// (`s3.put_object`).
    pub calls: &'static [&'static str],
}

/// The SageMaker create calls that carry the project's tags (and so need `sagemaker:AddTags`).
const TAGGED_CREATES: &[&str] = &[
    "sagemaker.create_training_job",
    "sagemaker.create_model",
    "sagemaker.create_endpoint_config",
    "sagemaker.create_endpoint",
    "sagemaker.create_model_package_group",
    "sagemaker.create_data_quality_job_definition",
    "sagemaker.create_monitoring_schedule",
];

/// Every IAM action the workbench needs; [`project_policy`] and the tests are built from it.
pub const PERMISSIONS: &[Permission] = &[
    // The object store.
    Permission {
        action: "s3:GetObject",
        why: "read objects of the store (GetObject) and their metadata (HeadObject)",
        scope: Scope::StoreObjects,
        calls: &["s3.get_object", "s3.head_object"],
    },
    Permission {
        action: "s3:PutObject",
        why: "write objects of the store, in one request or as a multipart upload",
        scope: Scope::StoreObjects,
        calls: &["s3.put_object", "s3.create_multipart_upload", "s3.upload_part", "s3.complete_multipart_upload"],
    },
    Permission {
        action: "s3:DeleteObject",
        why: "delete objects of the store",
        scope: Scope::StoreObjects,
        calls: &["s3.delete_object"],
    },
    Permission {
        action: "s3:AbortMultipartUpload",
        why: "abort a multipart upload that failed or was cancelled, so no parts are left behind",
        scope: Scope::StoreObjects,
        calls: &["s3.abort_multipart_upload"],
    },
    Permission {
        action: "s3:ListBucket",
        why: "list the store's objects (ListObjectsV2 below the store's prefix)",
        scope: Scope::StoreListing,
        calls: &["s3.list_objects_v2"],
    },
    // SageMaker: creating the project's resources.
    Permission {
        action: "sagemaker:CreateTrainingJob",
        why: "start training jobs",
        scope: Scope::CreateTagged,
        calls: &["sagemaker.create_training_job"],
    },
    Permission {
        action: "sagemaker:CreateModel",
        why: "create the model an endpoint serves",
        scope: Scope::CreateTagged,
        calls: &["sagemaker.create_model"],
    },
    Permission {
        action: "sagemaker:CreateEndpointConfig",
        why: "create an endpoint configuration (instances, data capture)",
        scope: Scope::CreateTagged,
        calls: &["sagemaker.create_endpoint_config"],
    },
    Permission {
        action: "sagemaker:CreateEndpoint",
        why: "create an endpoint",
        scope: Scope::CreateTagged,
        calls: &["sagemaker.create_endpoint"],
    },
    Permission {
        action: "sagemaker:CreateModelPackageGroup",
        why: "create the registry's model package group of a model",
        scope: Scope::CreateTagged,
        calls: &["sagemaker.create_model_package_group"],
    },
    Permission {
        action: "sagemaker:CreateDataQualityJobDefinition",
        why: "define the data-quality job a monitoring schedule runs (analyzer, baseline, endpoint, reports)",
        scope: Scope::CreateTagged,
        calls: &["sagemaker.create_data_quality_job_definition"],
    },
    Permission {
        action: "sagemaker:CreateMonitoringSchedule",
        why: "schedule an endpoint's data-quality monitoring (hourly)",
        scope: Scope::CreateTagged,
        calls: &["sagemaker.create_monitoring_schedule"],
    },
    Permission {
        action: "sagemaker:AddTags",
        why: "tag resources as they are created (SageMaker requires it for tags on create)",
        scope: Scope::CreateTagged,
        calls: TAGGED_CREATES,
    },
    // SageMaker: reading.
    Permission {
        action: "sagemaker:DescribeTrainingJob",
        why: "follow a training job's status and find its model artefact",
        scope: Scope::ReadResources,
        calls: &["sagemaker.describe_training_job"],
    },
    Permission {
        action: "sagemaker:DescribeEndpoint",
        why: "learn whether an endpoint exists and wait until it is in service",
        scope: Scope::ReadResources,
        calls: &["sagemaker.describe_endpoint"],
    },
    Permission {
        action: "sagemaker:DescribeEndpointConfig",
        why: "find the models of an endpoint that is deleted",
        scope: Scope::ReadResources,
        calls: &["sagemaker.describe_endpoint_config"],
    },
    Permission {
        action: "sagemaker:DescribeModelPackage",
        why: "read a registered model version",
        scope: Scope::ReadResources,
        calls: &["sagemaker.describe_model_package"],
    },
    Permission {
        action: "sagemaker:DescribeModelPackageGroup",
        why: "learn whether a model's package group exists",
        scope: Scope::ReadResources,
        calls: &["sagemaker.describe_model_package_group"],
    },
    Permission {
        action: "sagemaker:DescribeMonitoringSchedule",
        why: "wait until a deleted monitoring schedule is gone (its job definition is locked until then)",
        scope: Scope::ReadResources,
        calls: &["sagemaker.describe_monitoring_schedule"],
    },
    Permission {
        action: "sagemaker:ListTags",
        why: "find the project's resources by their tags",
        scope: Scope::ReadResources,
        calls: &["sagemaker.list_tags"],
    },
    // SageMaker: changing and using the project's resources.
    Permission {
        action: "sagemaker:CreateModelPackage",
        why: "register a model version in the project's package group (versions take the group's tags)",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.create_model_package"],
    },
    Permission {
        action: "sagemaker:UpdateModelPackage",
        why: "approve (promote) a registered model version",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.update_model_package"],
    },
    Permission {
        action: "sagemaker:UpdateEndpoint",
        why: "move an existing endpoint to a new model",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.update_endpoint"],
    },
    Permission {
        action: "sagemaker:StopTrainingJob",
        why: "stop the project's running training jobs",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.stop_training_job"],
    },
    Permission {
        action: "sagemaker:DeleteEndpoint",
        why: "delete endpoints",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.delete_endpoint"],
    },
    Permission {
        action: "sagemaker:DeleteEndpointConfig",
        why: "delete endpoint configurations (with their endpoint, or after a failed deploy)",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.delete_endpoint_config"],
    },
    Permission {
        action: "sagemaker:DeleteModel",
        why: "delete models (with their endpoint, or after a failed deploy)",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.delete_model"],
    },
    Permission {
        action: "sagemaker:DeleteModelPackage",
        why: "delete registered model versions",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.delete_model_package"],
    },
    Permission {
        action: "sagemaker:DeleteModelPackageGroup",
        why: "delete a model's package group",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.delete_model_package_group"],
    },
    Permission {
        action: "sagemaker:DeleteMonitoringSchedule",
        why: "delete monitoring schedules (before their endpoint, or to replace one)",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.delete_monitoring_schedule"],
    },
    Permission {
        action: "sagemaker:DeleteDataQualityJobDefinition",
        why: "delete data-quality job definitions (after their schedule, or to replace one)",
        scope: Scope::ProjectResources,
        calls: &["sagemaker.delete_data_quality_job_definition"],
    },
    Permission {
        action: "sagemaker:InvokeEndpoint",
        why: "score the project's endpoints (SageMaker Runtime)",
        scope: Scope::ProjectResources,
        calls: &["sagemaker-runtime.invoke_endpoint"],
    },
    // SageMaker: listing (no resource scoping exists for these).
    Permission {
        action: "sagemaker:ListTrainingJobs",
        why: "find the project's training jobs (their tags are read next)",
        scope: Scope::Unscoped,
        calls: &["sagemaker.list_training_jobs"],
    },
    Permission {
        action: "sagemaker:ListEndpoints",
        why: "find the project's endpoints (their tags are read next)",
        scope: Scope::Unscoped,
        calls: &["sagemaker.list_endpoints"],
    },
    Permission {
        action: "sagemaker:ListEndpointConfigs",
        why: "find the project's endpoint configurations (their tags are read next)",
        scope: Scope::Unscoped,
        calls: &["sagemaker.list_endpoint_configs"],
    },
    Permission {
        action: "sagemaker:ListModels",
        why: "find the project's models (their tags are read next)",
        scope: Scope::Unscoped,
        calls: &["sagemaker.list_models"],
    },
    Permission {
        action: "sagemaker:ListModelPackageGroups",
        why: "find the project's model package groups (their tags are read next)",
        scope: Scope::Unscoped,
        calls: &["sagemaker.list_model_package_groups"],
    },
    Permission {
        action: "sagemaker:ListModelPackages",
        why: "list the versions of a model package group",
        scope: Scope::Unscoped,
        calls: &["sagemaker.list_model_packages"],
    },
    Permission {
        action: "sagemaker:ListMonitoringSchedules",
        why: "find the project's monitoring schedules (their tags are read next)",
        scope: Scope::Unscoped,
        calls: &["sagemaker.list_monitoring_schedules"],
    },
    Permission {
        action: "sagemaker:ListDataQualityJobDefinitions",
        why: "find the project's data-quality job definitions (their tags are read next)",
        scope: Scope::Unscoped,
        calls: &["sagemaker.list_data_quality_job_definitions"],
    },
    // Handing the project's role to SageMaker.
    Permission {
        action: "iam:PassRole",
        why: "let SageMaker assume the project's role for training jobs, models and monitoring jobs, and Lambda and \
              Step Functions for the workflow's functions and state machine",
        scope: Scope::PassRole,
        calls: &[
            "sagemaker.create_training_job",
            "sagemaker.create_model",
            "sagemaker.create_data_quality_job_definition",
            "lambda.create_function",
            "lambda.update_function_configuration",
            "states.create_state_machine",
            "states.update_state_machine",
        ],
    },
    // The hosted workflow (`wb workflow deploy` and `start`, `wb clean`): Lambda functions and a
    // Step Functions state machine.
    Permission {
        action: "lambda:CreateFunction",
        why: "create the workflow's functions (tagged with the project's tag)",
        scope: Scope::CreateWorkflows,
        calls: &["lambda.create_function"],
    },
    Permission {
        action: "lambda:TagResource",
        why: "tag an existing function of the workflow with the project's tag when it is updated",
        scope: Scope::CreateWorkflows,
        calls: &["lambda.tag_resource"],
    },
    Permission {
        action: "states:CreateStateMachine",
        why: "create the workflow's state machine (tagged with the project's tag)",
        scope: Scope::CreateWorkflows,
        calls: &["states.create_state_machine"],
    },
    Permission {
        action: "states:TagResource",
        why: "tag an existing state machine with the project's tag when it is updated",
        scope: Scope::CreateWorkflows,
        calls: &["states.tag_resource"],
    },
    Permission {
        action: "lambda:GetFunctionConfiguration",
        why: "wait until a function created or updated is active",
        scope: Scope::ReadResources,
        calls: &["lambda.get_function_configuration"],
    },
    Permission {
        action: "lambda:ListTags",
        why: "find the project's functions by tag (inventory and clean-up)",
        scope: Scope::ReadResources,
        calls: &["lambda.list_tags"],
    },
    Permission {
        action: "states:ListTagsForResource",
        why: "find the project's state machines by tag (inventory and clean-up)",
        scope: Scope::ReadResources,
        calls: &["states.list_tags_for_resource"],
    },
    Permission {
        action: "states:DescribeExecution",
        why: "follow an execution started by `wb workflow start` to its end",
        scope: Scope::ReadResources,
        calls: &["states.describe_execution"],
    },
    Permission {
        action: "states:GetExecutionHistory",
        why: "read an execution's history (the error of a failed one)",
        scope: Scope::ReadResources,
        calls: &["states.get_execution_history"],
    },
    Permission {
        action: "lambda:UpdateFunctionConfiguration",
        why: "update an existing function's environment, role and limits on redeploy",
        scope: Scope::ChangeWorkflows,
        calls: &["lambda.update_function_configuration"],
    },
    Permission {
        action: "lambda:UpdateFunctionCode",
        why: "update an existing function's code on redeploy",
        scope: Scope::ChangeWorkflows,
        calls: &["lambda.update_function_code"],
    },
    Permission {
        action: "lambda:DeleteFunction",
        why: "delete the project's functions (`wb clean`)",
        scope: Scope::ChangeWorkflows,
        calls: &["lambda.delete_function"],
    },
    Permission {
        action: "states:UpdateStateMachine",
        why: "update an existing state machine's definition and role on redeploy",
        scope: Scope::ChangeWorkflows,
        calls: &["states.update_state_machine"],
    },
    Permission {
        action: "states:StartExecution",
        why: "start the workflow on an image (`wb workflow start`)",
        scope: Scope::ChangeWorkflows,
        calls: &["states.start_execution"],
    },
    Permission {
        action: "states:DeleteStateMachine",
        why: "delete the project's state machines (`wb clean`)",
        scope: Scope::ChangeWorkflows,
        calls: &["states.delete_state_machine"],
    },
    Permission {
        action: "lambda:ListFunctions",
        why: "list functions to find the project's (by tag) and the one to update (by name)",
        scope: Scope::Unscoped,
        calls: &["lambda.list_functions"],
    },
    Permission {
        action: "states:ListStateMachines",
        why: "list state machines to find the project's (by tag) and the one to update or start (by name)",
        scope: Scope::Unscoped,
        calls: &["states.list_state_machines"],
    },
    // The project's KMS key.
    Permission {
        action: "kms:GenerateDataKey",
        why: "encrypt objects written with the project's key (SSE-KMS)",
        scope: Scope::Kms,
        calls: &["s3.put_object", "s3.create_multipart_upload", "s3.upload_part", "s3.complete_multipart_upload"],
    },
    Permission {
        action: "kms:Decrypt",
        why: "read objects encrypted with the project's key, and complete multipart uploads under it",
        scope: Scope::Kms,
        calls: &["s3.get_object", "s3.upload_part", "s3.complete_multipart_upload"],
    },
    Permission {
        action: "kms:DescribeKey",
        why: "let SageMaker check the key given for training and endpoint volumes and capture files",
        scope: Scope::Kms,
        calls: &["sagemaker.create_training_job", "sagemaker.create_endpoint_config"],
    },
    Permission {
        action: "kms:CreateGrant",
        why: "let SageMaker encrypt training and endpoint volumes with the project's key",
        scope: Scope::KmsGrant,
        calls: &["sagemaker.create_training_job", "sagemaker.create_endpoint_config"],
    },
];

/// The SageMaker resource types the workbench creates or uses.
const RESOURCE_TYPES: &[&str] = &[
    "training-job",
    "model",
    "endpoint-config",
    "endpoint",
    "model-package-group",
    "model-package",
    "monitoring-schedule",
    "data-quality-job-definition",
];

/// The resource types created with tags (a model package version takes its group's tags).
const CREATED_TYPES: &[&str] = &[
    "training-job",
    "model",
    "endpoint-config",
    "endpoint",
    "model-package-group",
    "monitoring-schedule",
    "data-quality-job-definition",
];

/// The services the project's role is passed to.
const PASSED_TO_SERVICES: [&str; 3] = ["sagemaker.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com"];

/// What a project's policy is about: its store, its role, its tag, and where it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyScope {
    /// The store's bucket.
    pub bucket: String,
    /// The store's key prefix (without leading or trailing `/`); `None` for the whole bucket.
    pub prefix: Option<String>,
    /// The role SageMaker assumes for the project.
    pub role_arn: String,
    /// The tag key marking the project's resources ([`wb_core::PROJECT_TAG`]).
    pub tag_key: String,
    /// The project's name, the value of that tag.
    pub project: String,
    /// The region (`*` in SageMaker ARNs when `None`).
    pub region: Option<String>,
    /// The account (`*` in SageMaker ARNs when `None`).
    pub account: Option<String>,
    /// The project's KMS key (id, ARN or `alias/...`), if it has one.
    pub kms_key_id: Option<String>,
}

impl PolicyScope {
    /// The scope of a project's configuration: bucket and prefix from its S3 store URI, the role
    /// and KMS key from `[aws]` (the account from the role's ARN), the region from `[aws]`, the
    /// project's name as the value of [`wb_core::PROJECT_TAG`].
    ///
    /// # Errors
    /// [`Error::NotS3`] for a local store; [`Error::Invalid`] when no role is configured or its
    /// ARN is malformed; [`Error::Core`] for an invalid store URI.
    pub fn from_config(config: &wb_core::LoadedConfig) -> Result<PolicyScope> {
        let uri = config.store_uri()?;
        let wb_core::StoreUri::S3 { bucket, prefix } = uri else {
            return Err(Error::NotS3 { uri: uri.to_string() });
        };
        let aws = &config.config.aws;
        let Some(role_arn) = aws.role_arn.clone() else {
            return Err(Error::Invalid {
                field: "role",
                value: String::new(),
                expected: "the IAM role SageMaker assumes: pass `wb init --role ARN` or set `[aws] role_arn` in \
                           workbench.toml"
                    .to_owned(),
            });
        };
        let account = role_account(&role_arn).map(str::to_owned).ok_or_else(|| Error::Invalid {
            field: "role",
            value: role_arn.clone(),
            expected: "an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>".to_owned(),
        })?;
        Ok(PolicyScope {
            bucket,
            prefix: prefix.map(|p| p.to_string()),
            role_arn,
            tag_key: wb_core::PROJECT_TAG.to_owned(),
            project: config.config.project.name.clone(),
            region: aws.region.clone(),
            account: Some(account),
            kms_key_id: aws.kms_key_id.clone(),
        })
    }

    /// The AWS partition of the region (`aws` unless the region is in China or GovCloud).
    fn partition(&self) -> &'static str {
        match self.region.as_deref() {
            Some(r) if r.starts_with("cn-") => "aws-cn",
            Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
            _ => "aws",
        }
    }

    fn region_or_any(&self) -> &str {
        self.region.as_deref().unwrap_or("*")
    }

    fn account_or_any(&self) -> &str {
        self.account.as_deref().unwrap_or("*")
    }

    /// The prefix without stray slashes, `None` when empty.
    fn clean_prefix(&self) -> Option<&str> {
        self.prefix.as_deref().map(|p| p.trim_matches('/')).filter(|p| !p.is_empty())
    }

    /// The workflow's resources: functions and state machines named `wb-*` (and, with
    /// `executions`, their executions).
    fn workflow_arns(&self, executions: bool) -> Value {
        let (partition, region, account) = (self.partition(), self.region_or_any(), self.account_or_any());
        let mut arns = vec![
            format!("arn:{partition}:lambda:{region}:{account}:function:wb-*"),
            format!("arn:{partition}:states:{region}:{account}:stateMachine:wb-*"),
        ];
        if executions {
            arns.push(format!("arn:{partition}:states:{region}:{account}:execution:wb-*"));
        }
        arns.into_iter().map(Value::from).collect()
    }

    fn sagemaker_arns(&self, types: &[&str]) -> Value {
        let (partition, region, account) = (self.partition(), self.region_or_any(), self.account_or_any());
        types.iter().map(|t| Value::from(format!("arn:{partition}:sagemaker:{region}:{account}:{t}/*"))).collect()
    }

    /// The KMS key's resource and, for an alias, the condition naming it: IAM authorizes KMS
    /// calls against the key's ARN, so an alias (`alias/name` or its ARN) becomes "any key in
    /// the account and region that carries this alias".
    fn kms_resource(&self, key: &str) -> (Value, Option<Value>) {
        let (partition, region, account) = (self.partition(), self.region_or_any(), self.account_or_any());
        let (keys, alias) = match key.split_once(":alias/") {
            Some((arn, name)) if arn.starts_with("arn:") => (format!("{arn}:key/*"), format!("alias/{name}")),
            _ if key.starts_with("alias/") => (format!("arn:{partition}:kms:{region}:{account}:key/*"), key.to_owned()),
            _ if key.starts_with("arn:") => return (json!(key), None),
            _ => return (json!(format!("arn:{partition}:kms:{region}:{account}:key/{key}")), None),
        };
        (json!(keys), Some(json!({ "ForAnyValue:StringEquals": { "kms:ResourceAliases": alias } })))
    }

    /// The statement of `scope` granting `actions`, or `None` when it does not apply to this
    /// project (the KMS statements without a key).
    fn statement(&self, scope: Scope, actions: Vec<&str>) -> Option<Value> {
        let partition = self.partition();
        let bucket = &self.bucket;
        let tag_equals = |key: &str| json!({ "StringEquals": { format!("{key}/{}", self.tag_key): self.project } });
        let (resource, condition) = match scope {
            Scope::StoreObjects => {
                let objects = match self.clean_prefix() {
                    Some(prefix) => format!("arn:{partition}:s3:::{bucket}/{prefix}/*"),
                    None => format!("arn:{partition}:s3:::{bucket}/*"),
                };
                (json!(objects), None)
            }
            Scope::StoreListing => {
                let condition =
                    self.clean_prefix().map(|p| json!({ "StringLike": { "s3:prefix": [format!("{p}/*")] } }));
                (json!(format!("arn:{partition}:s3:::{bucket}")), condition)
            }
            Scope::CreateTagged => (self.sagemaker_arns(CREATED_TYPES), Some(tag_equals("aws:RequestTag"))),
            Scope::ReadResources => {
                let mut arns = self.sagemaker_arns(RESOURCE_TYPES);
                if let (Some(arns), Value::Array(workflow)) = (arns.as_array_mut(), self.workflow_arns(true)) {
                    arns.extend(workflow);
                }
                (arns, None)
            }
            Scope::ProjectResources => (self.sagemaker_arns(RESOURCE_TYPES), Some(tag_equals("aws:ResourceTag"))),
            Scope::CreateWorkflows => (self.workflow_arns(false), Some(tag_equals("aws:RequestTag"))),
            Scope::ChangeWorkflows => (self.workflow_arns(false), Some(tag_equals("aws:ResourceTag"))),
            Scope::Unscoped => (json!("*"), None),
            Scope::PassRole => {
                (json!(self.role_arn), Some(json!({ "StringEquals": { "iam:PassedToService": PASSED_TO_SERVICES } })))
            }
            Scope::Kms => self.kms_resource(self.kms_key_id.as_deref()?),
            Scope::KmsGrant => {
                let (resource, alias) = self.kms_resource(self.kms_key_id.as_deref()?);
                let mut condition = json!({ "Bool": { "kms:GrantIsForAWSResource": "true" } });
                if let (Some(Value::Object(alias)), Some(all)) = (alias, condition.as_object_mut()) {
                    all.extend(alias);
                }
                (resource, Some(condition))
            }
        };
        let mut statement = Map::new();
        statement.insert("Sid".into(), json!(scope.sid()));
        statement.insert("Effect".into(), json!("Allow"));
        statement.insert("Action".into(), json!(actions));
        statement.insert("Resource".into(), resource);
        if let Some(condition) = condition {
            statement.insert("Condition".into(), condition);
        }
        Some(Value::Object(statement))
    }

    /// The document with the permissions `keep` accepts.
    fn document(&self, keep: impl Fn(&Permission) -> bool) -> Value {
        let statements: Vec<Value> = Scope::ALL
            .iter()
            .filter_map(|&scope| {
                let actions: Vec<&str> =
                    PERMISSIONS.iter().filter(|p| p.scope == scope && keep(p)).map(|p| p.action).collect();
                if actions.is_empty() { None } else { self.statement(scope, actions) }
            })
            .collect();
        json!({ "Version": "2012-10-17", "Statement": statements })
    }
}

/// The account of a role ARN `arn:<partition>:iam::<account>:role/<name>`.
fn role_account(role_arn: &str) -> Option<&str> {
    let rest = role_arn.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("iam::")?;
    let (account, name) = rest.split_once(":role/")?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()).then_some(account)
}

/// The project's IAM policy document: `{"Version": "2012-10-17", "Statement": [...]}`, one
/// statement per [`Scope`] that has permissions (the KMS statements only with a key).
#[must_use]
pub fn project_policy(scope: &PolicyScope) -> Value {
    scope.document(|_| true)
}

/// The project's policy without `action` (a statement left empty is dropped): what a user who
/// lacks that one permission has. An action not in [`PERMISSIONS`] changes nothing.
#[must_use]
pub fn project_policy_without(scope: &PolicyScope, action: &str) -> Value {
    scope.document(|p| p.action != action)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn scope() -> PolicyScope {
        PolicyScope {
            bucket: "bucket".into(),
            prefix: Some("team/wb".into()),
            role_arn: "arn:aws:iam::123456789012:role/workbench".into(),
            tag_key: wb_core::PROJECT_TAG.into(),
            project: "wine".into(),
            region: Some("eu-west-1".into()),
            account: Some("123456789012".into()),
            kms_key_id: None,
        }
    }

    fn statements(document: &Value) -> BTreeMap<String, Value> {
        document["Statement"]
            .as_array()
            .expect("Statement is an array")
            .iter()
            .map(|s| (s["Sid"].as_str().expect("every statement has a Sid").to_owned(), s.clone()))
            .collect()
    }

    fn actions(statement: &Value) -> Vec<&str> {
        statement["Action"].as_array().expect("Action is an array").iter().filter_map(Value::as_str).collect()
    }

    /// The SDK calls a source file makes on its client: `<...>client<ws>.<op>(`, outside its
    /// unit tests.
    fn sdk_calls(source: &str) -> BTreeSet<String> {
        let code = source.split("#[cfg(test)]\nmod tests").next().unwrap_or(source);
        let mut calls = BTreeSet::new();
        let mut rest = code;
        while let Some(at) = rest.find("client") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "client".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // part of another identifier
            }
            let Some(after) = rest.trim_start().strip_prefix('.') else { continue };
            let op: String = after
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let called = after.trim_start()[op.len()..].starts_with('(');
            if called && !op.is_empty() && !["clone", "config"].contains(&op.as_str()) {
                calls.insert(op);
            }
        }
        calls
    }

    /// The crate's sources that may call AWS, with the client their `client` field holds.
    const SOURCES: [(&str, &str, &str); 11] = [
        ("s3", "store.rs", include_str!("store.rs")),
        ("sagemaker-runtime", "runtime.rs", include_str!("runtime.rs")),
        ("sagemaker", "hosting.rs", include_str!("hosting.rs")),
        ("sagemaker", "training.rs", include_str!("training.rs")),
        ("sagemaker", "registry.rs", include_str!("registry.rs")),
        ("sagemaker", "sagemaker.rs", include_str!("sagemaker.rs")),
        ("sagemaker", "images.rs", include_str!("images.rs")),
        ("sagemaker", "backend.rs", include_str!("backend.rs")),
        ("sagemaker", "monitoring.rs", include_str!("monitoring.rs")),
        ("lambda", "functions.rs", include_str!("functions.rs")),
        ("states", "state_machines.rs", include_str!("state_machines.rs")),
    ];

    /// Sources that hold no AWS client of their own: the crate root, errors, this module and the
    /// test kit (whose calls set up tests, not the workbench's work).
    const NOT_SCANNED: [&str; 4] = ["lib.rs", "error.rs", "policy.rs", "testkit.rs"];

    /// Every SDK call of the crate's sources, as `<client>.<operation>`.
    fn calls_in_sources() -> BTreeSet<String> {
        SOURCES
            .iter()
            .flat_map(|(client, _, text)| sdk_calls(text).into_iter().map(move |op| format!("{client}.{op}")))
            .collect()
    }

    /// The IAM service prefix of a client's calls.
    fn service(call: &str) -> &str {
        match call.split_once('.').map(|(client, _)| client) {
            Some("s3") => "s3",
            Some("lambda") => "lambda",
            Some("states") => "states",
            _ => "sagemaker",
        }
    }

    #[test]
    fn the_scanner_finds_calls_across_lines_and_ignores_the_rest() {
        let text = "let a = self\n    .client\n    .put_object()\n    .send();\nself.client.list_tags().send();\n\
                    other_client.get_object();\nself.client.clone();\nfn client(&self) -> &Client { &self.client }\n\
                    #[cfg(test)]\nmod tests {\n    self.client.delete_object();\n}\n";
        assert_eq!(sdk_calls(text), BTreeSet::from(["list_tags".to_owned(), "put_object".to_owned()]));
    }

    #[test]
    fn every_source_file_is_scanned_or_holds_no_client() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("the crate's src directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".rs"))
            .collect();
        files.sort();
        let mut known: Vec<String> =
            SOURCES.iter().map(|(_, name, _)| *name).chain(NOT_SCANNED).map(str::to_owned).collect();
        known.sort();
        assert_eq!(files, known, "a new source file: add it to SOURCES (or NOT_SCANNED if it holds no AWS client)");
    }

    #[test]
    fn every_sdk_call_of_the_crate_is_permitted() {
        let calls = calls_in_sources();
        assert!(calls.contains("s3.put_object") && calls.contains("sagemaker.create_endpoint"), "{calls:?}");
        let missing: Vec<&String> = calls
            .iter()
            .filter(|call| {
                !PERMISSIONS.iter().any(|p| p.calls.contains(&call.as_str()) && p.action.starts_with(service(call)))
            })
            .collect();
        assert!(missing.is_empty(), "SDK calls without an IAM permission in PERMISSIONS: {missing:?}");
    }

    #[test]
    fn every_permission_is_needed_by_a_call_the_crate_makes() {
        let calls = calls_in_sources();
        for p in PERMISSIONS {
            assert!(!p.calls.is_empty() && !p.why.is_empty(), "{} says why and for which calls", p.action);
            let unknown: Vec<&&str> = p.calls.iter().filter(|c| !calls.contains(**c)).collect();
            assert!(unknown.is_empty(), "{} is granted for calls the code never makes: {unknown:?}", p.action);
        }
    }

    #[test]
    fn every_action_is_listed_once() {
        let mut seen = BTreeSet::new();
        for p in PERMISSIONS {
            assert!(seen.insert(p.action), "{} is listed twice", p.action);
            let (service, name) = p.action.split_once(':').expect("service:Action");
            assert!(["s3", "sagemaker", "lambda", "states", "iam", "kms"].contains(&service), "{}", p.action);
            assert!(name.starts_with(|c: char| c.is_ascii_uppercase()), "{}", p.action);
        }
    }

    #[test]
    fn the_document_has_one_statement_per_scope_with_its_resources_and_conditions() {
        let document = project_policy(&scope());
        let text = serde_json::to_string(&document).expect("serializes");
        let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed, document);
        assert_eq!(document["Version"], "2012-10-17");
        let by_sid = statements(&document);
        let sids: Vec<&str> = Scope::ALL.iter().map(|s| s.sid()).filter(|s| !s.contains("Kms")).collect();
        assert_eq!(by_sid.keys().map(String::as_str).collect::<BTreeSet<_>>(), sids.iter().copied().collect());
        for statement in by_sid.values() {
            assert_eq!(statement["Effect"], "Allow");
        }

        let objects = &by_sid["StoreObjects"];
        assert_eq!(objects["Resource"], "arn:aws:s3:::bucket/team/wb/*");
        assert_eq!(actions(objects), ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]);
        assert!(objects.get("Condition").is_none());

        let listing = &by_sid["StoreListing"];
        assert_eq!(listing["Resource"], "arn:aws:s3:::bucket");
        assert_eq!(actions(listing), ["s3:ListBucket"]);
        assert_eq!(listing["Condition"], json!({ "StringLike": { "s3:prefix": ["team/wb/*"] } }));

        let create = &by_sid["CreateTaggedSageMakerResources"];
        assert_eq!(create["Condition"], json!({ "StringEquals": { "aws:RequestTag/workbench:project": "wine" } }));
        assert!(actions(create).contains(&"sagemaker:AddTags"));
        assert!(actions(create).iter().all(|a| a.starts_with("sagemaker:Create") || *a == "sagemaker:AddTags"));
        assert!(!actions(create).contains(&"sagemaker:CreateModelPackage"), "versions cannot carry tags");
        assert!(
            create["Resource"]
                .as_array()
                .expect("ARN list")
                .contains(&json!("arn:aws:sagemaker:eu-west-1:123456789012:endpoint/*"))
        );

        let change = &by_sid["ChangeProjectSageMakerResources"];
        assert_eq!(change["Condition"], json!({ "StringEquals": { "aws:ResourceTag/workbench:project": "wine" } }));
        for action in ["sagemaker:DeleteEndpoint", "sagemaker:InvokeEndpoint", "sagemaker:CreateModelPackage"] {
            assert!(actions(change).contains(&action), "{action}");
        }
        let read = &by_sid["ReadResources"];
        assert!(read.get("Condition").is_none());
        assert!(actions(read).iter().all(|a| {
            let (_, name) = a.split_once(':').expect("service:Action");
            ["Describe", "Get", "List"].iter().any(|verb| name.starts_with(verb))
        }));
        let sagemaker_arns = change["Resource"].as_array().expect("ARN list");
        assert_eq!(&read["Resource"].as_array().expect("ARN list")[..sagemaker_arns.len()], &sagemaker_arns[..]);

        let list = &by_sid["ListResources"];
        assert_eq!(list["Resource"], "*");
        assert!(actions(list).iter().all(|a| a.split_once(':').is_some_and(|(_, name)| name.starts_with("List"))));
        assert!(actions(list).contains(&"lambda:ListFunctions") && actions(list).contains(&"states:ListStateMachines"));

        let functions = "arn:aws:lambda:eu-west-1:123456789012:function:wb-*";
        let machines = "arn:aws:states:eu-west-1:123456789012:stateMachine:wb-*";
        let create = &by_sid["CreateTaggedWorkflows"];
        assert_eq!(create["Resource"], json!([functions, machines]));
        assert_eq!(create["Condition"], json!({ "StringEquals": { "aws:RequestTag/workbench:project": "wine" } }));
        let change = &by_sid["ChangeProjectWorkflows"];
        assert_eq!(change["Resource"], json!([functions, machines]));
        assert_eq!(change["Condition"], json!({ "StringEquals": { "aws:ResourceTag/workbench:project": "wine" } }));
        assert!(
            actions(change).contains(&"states:StartExecution") && actions(change).contains(&"lambda:DeleteFunction")
        );
        let read = by_sid["ReadResources"]["Resource"].as_array().expect("ARN list");
        for arn in [functions, machines, "arn:aws:states:eu-west-1:123456789012:execution:wb-*"] {
            assert!(read.contains(&json!(arn)), "{arn} is read (execution histories by execution ARN)");
        }

        let pass = &by_sid["PassRoleToServices"];
        assert_eq!(actions(pass), ["iam:PassRole"]);
        assert_eq!(pass["Resource"], "arn:aws:iam::123456789012:role/workbench");
        assert_eq!(
            pass["Condition"],
            json!({ "StringEquals": { "iam:PassedToService": ["sagemaker.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com"] } })
        );
        assert!(!text.contains("kms:"), "no KMS statement without a key: {text}");

        // Only the list calls, which allow nothing narrower, run on every resource.
        for (sid, statement) in &by_sid {
            if statement["Resource"] == "*" {
                assert_eq!(sid, "ListResources");
            }
        }
    }

    #[test]
    fn every_permission_appears_in_its_statement() {
        let scope = PolicyScope { kms_key_id: Some("1234abcd-12ab-34cd-56ef-1234567890ab".into()), ..scope() };
        let by_sid = statements(&project_policy(&scope));
        for p in PERMISSIONS {
            let statement = by_sid.get(p.scope.sid()).unwrap_or_else(|| panic!("{} has its statement", p.action));
            assert!(actions(statement).contains(&p.action), "{} is in {}", p.action, p.scope.sid());
        }
        let total: usize = by_sid.values().map(|s| actions(s).len()).sum();
        assert_eq!(total, PERMISSIONS.len(), "no action outside PERMISSIONS");
    }

    #[test]
    fn the_document_fits_a_customer_managed_policy() {
        // IAM counts a managed policy's characters without whitespace: at most 6,144. (A user's
        // inline policies may hold only 2,048, which the document exceeds: attach it as a managed
        // policy, or inline on a role, which allows 10,240.)
        let long = PolicyScope {
            bucket: "b".repeat(63),
            prefix: Some("p".repeat(100)),
            role_arn: format!("arn:aws:iam::123456789012:role/{}", "r".repeat(64)),
            project: "n".repeat(63),
            region: Some("ap-southeast-3".into()),
            kms_key_id: Some(format!("alias/{}", "k".repeat(64))),
            ..scope()
        };
        let text = serde_json::to_string(&project_policy(&long)).expect("serializes");
        let size = text.chars().filter(|c| !c.is_whitespace()).count();
        assert!(size <= 6144, "{size} characters");
        let typical = serde_json::to_string(&project_policy(&scope())).expect("serializes");
        assert!(typical.len() > 2048, "the note above still holds: {}", typical.len());
    }

    #[test]
    fn without_an_action_the_rest_is_unchanged() {
        let scope = scope();
        let full = statements(&project_policy(&scope));
        let reduced = statements(&project_policy_without(&scope, "s3:DeleteObject"));
        assert_eq!(actions(&reduced["StoreObjects"]), ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]);
        assert_eq!(reduced["StoreObjects"]["Resource"], full["StoreObjects"]["Resource"]);
        for sid in full.keys().filter(|s| *s != "StoreObjects") {
            assert_eq!(reduced[sid], full[sid], "{sid} is unchanged");
        }
        // A statement left without actions is dropped.
        let no_list = statements(&project_policy_without(&scope, "s3:ListBucket"));
        assert!(!no_list.contains_key("StoreListing"));
        assert_eq!(no_list.len(), full.len() - 1);
        // An unknown action changes nothing.
        assert_eq!(project_policy_without(&scope, "s3:Nothing"), project_policy(&scope));
    }

    #[test]
    fn region_account_prefix_and_key_shape_the_arns() {
        let open = PolicyScope { region: None, account: None, prefix: None, ..scope() };
        let by_sid = statements(&project_policy(&open));
        assert_eq!(by_sid["StoreObjects"]["Resource"], "arn:aws:s3:::bucket/*");
        assert!(by_sid["StoreListing"].get("Condition").is_none(), "the whole bucket is the store");
        assert!(
            by_sid["ChangeProjectSageMakerResources"]["Resource"]
                .as_array()
                .expect("ARNs")
                .contains(&json!("arn:aws:sagemaker:*:*:training-job/*"))
        );

        let china = PolicyScope { region: Some("cn-north-1".into()), prefix: Some("/wb/".into()), ..scope() };
        let by_sid = statements(&project_policy(&china));
        assert_eq!(by_sid["StoreObjects"]["Resource"], "arn:aws-cn:s3:::bucket/wb/*");
        assert_eq!(by_sid["StoreListing"]["Condition"]["StringLike"]["s3:prefix"], json!(["wb/*"]));

        let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let with_key = PolicyScope { kms_key_id: Some(key.into()), ..scope() };
        let by_sid = statements(&project_policy(&with_key));
        assert_eq!(by_sid["UseProjectKmsKey"]["Resource"], key);
        assert_eq!(actions(&by_sid["UseProjectKmsKey"]), ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]);
        assert_eq!(by_sid["GrantProjectKmsKeyToSageMaker"]["Resource"], key);
        assert_eq!(
            by_sid["GrantProjectKmsKeyToSageMaker"]["Condition"],
            json!({ "Bool": { "kms:GrantIsForAWSResource": "true" } })
        );

        let by_id = PolicyScope { kms_key_id: Some("1234abcd".into()), ..scope() };
        let by_sid = statements(&project_policy(&by_id));
        assert_eq!(by_sid["UseProjectKmsKey"]["Resource"], "arn:aws:kms:eu-west-1:123456789012:key/1234abcd");

        let alias_arn =
            PolicyScope { kms_key_id: Some("arn:aws:kms:us-east-2:210987654321:alias/wb".into()), ..scope() };
        let by_sid = statements(&project_policy(&alias_arn));
        assert_eq!(by_sid["UseProjectKmsKey"]["Resource"], "arn:aws:kms:us-east-2:210987654321:key/*");
        assert_eq!(
            by_sid["UseProjectKmsKey"]["Condition"],
            json!({ "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/wb" } })
        );

        let by_alias = PolicyScope { kms_key_id: Some("alias/wb".into()), ..scope() };
        let by_sid = statements(&project_policy(&by_alias));
        assert_eq!(by_sid["UseProjectKmsKey"]["Resource"], "arn:aws:kms:eu-west-1:123456789012:key/*");
        assert_eq!(
            by_sid["UseProjectKmsKey"]["Condition"],
            json!({ "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/wb" } })
        );
        assert_eq!(
            by_sid["GrantProjectKmsKeyToSageMaker"]["Condition"],
            json!({
                "Bool": { "kms:GrantIsForAWSResource": "true" },
                "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/wb" }
            })
        );
    }

    fn loaded(toml: &str) -> wb_core::LoadedConfig {
        let path = std::path::Path::new("/project/workbench.toml");
        wb_core::LoadedConfig {
            path: path.to_owned(),
            config: wb_core::Config::from_toml(toml, path).expect("valid config"),
        }
    }

    #[test]
    fn the_scope_comes_from_the_project_configuration() {
        let config = loaded(
            "[project]\nname = \"wine\"\n[store]\nuri = \"s3://data-bucket/team/wb\"\n[aws]\nregion = \"eu-west-1\"\n\
             role_arn = \"arn:aws:iam::123456789012:role/workbench\"\nkms_key_id = \"alias/wb\"\n",
        );
        let scope = PolicyScope::from_config(&config).expect("scope");
        assert_eq!(
            scope,
            PolicyScope {
                bucket: "data-bucket".into(),
                prefix: Some("team/wb".into()),
                role_arn: "arn:aws:iam::123456789012:role/workbench".into(),
                tag_key: "workbench:project".into(),
                project: "wine".into(),
                region: Some("eu-west-1".into()),
                account: Some("123456789012".into()),
                kms_key_id: Some("alias/wb".into()),
            }
        );
    }

    #[test]
    fn a_scope_needs_an_s3_store_and_a_role() {
        let local = loaded("[project]\nname = \"wine\"\n[store]\nuri = \".workbench\"\n");
        let err = PolicyScope::from_config(&local).expect_err("local store");
        assert!(matches!(err, Error::NotS3 { .. }), "{err:?}");

        let no_role = loaded("[project]\nname = \"wine\"\n[store]\nuri = \"s3://data-bucket/wb\"\n");
        let err = PolicyScope::from_config(&no_role).expect_err("no role");
        let text = err.to_string();
        assert!(matches!(err, Error::Invalid { field: "role", .. }), "{err:?}");
        assert!(text.contains("wb init --role ARN") && text.contains("[aws] role_arn"), "{text}");

        let bad_role = loaded(
            "[project]\nname = \"wine\"\n[store]\nuri = \"s3://data-bucket/wb\"\n[aws]\nrole_arn = \"workbench\"\n",
        );
        let err = PolicyScope::from_config(&bad_role).expect_err("bad role");
        assert!(err.to_string().contains("12-digit account"), "{err}");
    }

    #[test]
    fn role_accounts_are_parsed_strictly() {
        assert_eq!(role_account("arn:aws:iam::123456789012:role/x"), Some("123456789012"));
        assert_eq!(role_account("arn:aws-cn:iam::123456789012:role/path/x"), Some("123456789012"));
        for bad in
            ["arn:aws:iam::123:role/x", "arn:aws:iam::123456789012:user/x", "arn:aws:iam::123456789012:role/", "x"]
        {
            assert_eq!(role_account(bad), None, "{bad}");
        }
    }
}
