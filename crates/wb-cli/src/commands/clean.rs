//! `wb clean`: remove what the project created.

use anyhow::Result;
use serde::Serialize;
use wb_models::clean::{self, CleanOptions, CleanPlan, CleanReport};

use crate::cli::CleanArgs;
use crate::context::Context;
use crate::output::print_json;

pub(crate) async fn run(args: CleanArgs, ctx: &Context) -> Result<()> {
    let options = CleanOptions { all: args.all, keep_promoted: args.keep_promoted };
    // SageMaker first (endpoints, configurations, models, model packages; running jobs are
    // stopped), found by the project's tag even when the store's records are lost.
    let sagemaker = sagemaker_clean(ctx, &args).await?;
    let (plan, report) = if args.dry_run {
        (clean::plan_with(&ctx.store, options).await?, None)
    } else {
        let report = clean::execute_with(&ctx.store, options).await?;
        (report.removed.clone(), Some(report))
    };
    if args.json {
        #[derive(Serialize)]
        struct Out<'a> {
            dry_run: bool,
            plan: &'a CleanPlan,
            report: Option<CleanReport>,
            sagemaker: &'a [SageMakerResource],
        }
        return print_json(&Out { dry_run: args.dry_run, plan: &plan, report, sagemaker: &sagemaker });
    }
    let verb = if args.dry_run { "would remove" } else { "removed" };
    for r in &sagemaker {
        let verb = match (r.kind.as_str(), args.dry_run) {
            ("training-job", true) => "would stop",
            ("training-job", false) => "stopped",
            _ => verb,
        };
        println!("{verb} SageMaker {:<19} {}", r.kind, r.name);
    }
    if plan.is_empty() {
        println!("nothing to remove in {}", ctx.store.uri());
        return Ok(());
    }
    for item in &plan.items {
        println!("{verb} {:<16} {} ({} objects)", item.kind, item.name, item.objects.len());
    }
    if let Some(report) = report {
        println!(
            "{} items, {} objects removed{}",
            report.items,
            report.objects,
            if report.stopped_server { "; local server stopped" } else { "" }
        );
    }
    if !args.all {
        println!("datasets kept (use --all to remove them too)");
    }
    if args.keep_promoted {
        match wb_models::registry::Registry::new(ctx.store.clone()).promoted().await? {
            Some(p) => println!("kept the promoted model {} (endpoint {}, job {})", p.model, p.endpoint, p.job),
            None => println!("no model is promoted, so --keep-promoted kept nothing"),
        }
    }
    Ok(())
}

/// A SageMaker resource `wb clean` removed (or would remove).
#[derive(Debug, Serialize)]
struct SageMakerResource {
    kind: String,
    name: String,
    arn: String,
}

async fn sagemaker_clean(ctx: &Context, args: &CleanArgs) -> Result<Vec<SageMakerResource>> {
    if !ctx.is_sagemaker() {
        return Ok(Vec::new());
    }
    #[cfg(feature = "aws")]
    {
        let promoted = if args.keep_promoted {
            wb_models::registry::Registry::new(ctx.store.clone()).promoted().await?
        } else {
            None
        };
        let found = crate::commands::sagemaker::clean(ctx, args.dry_run, promoted.as_ref()).await?;
        Ok(found.into_iter().map(|r| SageMakerResource { kind: r.kind.to_owned(), name: r.name, arn: r.arn }).collect())
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = args;
        Err(crate::context::no_aws())
    }
}
