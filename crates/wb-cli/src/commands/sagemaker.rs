//! `wb aws policy`: the least-privilege IAM policy of an S3 project. (Everything else runs on
//! either backend through the project's backend interface.)

use anyhow::{Context as _, Result};
use wb_aws::policy::{PolicyScope, project_policy};

use crate::cli::AwsCommand;
use crate::context::Context;
use crate::output::print_json;

/// `wb aws ...`.
pub(crate) async fn aws(command: AwsCommand, ctx: &Context) -> Result<()> {
    match command {
        AwsCommand::Policy => {
            let mut scope = PolicyScope::from_config(&ctx.config).with_context(|| {
                format!("`wb aws policy` describes an S3 project's needs ({})", ctx.config.path.display())
            })?;
            if scope.region.is_none() {
                // The region of the SDK configuration the project was opened with.
                scope.region = ctx.project.sdk_config().and_then(|sdk| sdk.region()).map(ToString::to_string);
            }
            print_json(&project_policy(&scope))
        }
    }
}
