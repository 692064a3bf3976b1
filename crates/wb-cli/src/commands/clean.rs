//! `wb clean`: remove what the project created.

use anyhow::Result;
use serde::Serialize;
use wb_models::clean::{self, CleanPlan, CleanReport};

use crate::cli::CleanArgs;
use crate::context::Context;
use crate::output::print_json;

pub(crate) async fn run(args: CleanArgs, ctx: &Context) -> Result<()> {
    let (plan, report) = if args.dry_run {
        (clean::plan(&ctx.store, args.all).await?, None)
    } else {
        let report = clean::execute(&ctx.store, args.all).await?;
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
    Ok(())
}
