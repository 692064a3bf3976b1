//! `wb clean`: remove what the project created.

use anyhow::Result;
use serde::Serialize;
use wb_models::clean::{self, CleanOptions, CleanPlan, CleanReport};

use crate::cli::CleanArgs;
use crate::context::Context;
use crate::output::print_json;

pub(crate) async fn run(args: CleanArgs, ctx: &Context) -> Result<()> {
    let options = CleanOptions { all: args.all, keep_promoted: args.keep_promoted };
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
        }
        return print_json(&Out { dry_run: args.dry_run, plan: &plan, report });
    }
    if plan.is_empty() {
        println!("nothing to remove in {}", ctx.store.uri());
        return Ok(());
    }
    let verb = if args.dry_run { "would remove" } else { "removed" };
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
