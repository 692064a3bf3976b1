//! `wb clean`: remove what the project created.

use anyhow::Result;
use wb_core::scratch::Swept;
use wb_serving::clean::CleanOptions;

use crate::cli::CleanArgs;
use crate::context::Context;
use crate::output::print_json;

pub(crate) async fn run(args: CleanArgs, ctx: &Context) -> Result<()> {
    let options = CleanOptions { all: args.all, keep_promoted: args.keep_promoted };
    // The backend first (on SageMaker: endpoints, configurations, models, model packages, and
    // running jobs are stopped — found by the project's tag even when the store's records are
    // lost), then the store.
    let cleaned = ctx.project.clean(options, args.dry_run).await?;
    // Spool directories of wb processes that were killed (opening the store already swept
    // its own temporary files).
    let scratch = if args.dry_run { Swept::default() } else { wb_core::scratch::sweep(&wb_core::scratch::root())? };
    if args.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            dry_run: bool,
            #[serde(flatten)]
            cleaned: &'a workbench::Cleaned,
            scratch: Swept,
        }
        return print_json(&Out { dry_run: args.dry_run, cleaned: &cleaned, scratch });
    }
    if scratch.dirs > 0 {
        println!(
            "removed {} scratch directories left by killed wb processes ({:.1} MB)",
            scratch.dirs,
            scratch.bytes as f64 / 1e6
        );
    }
    let verb = if args.dry_run { "would remove" } else { "removed" };
    for r in &cleaned.backend {
        let verb = match (r.kind.as_str(), args.dry_run) {
            ("training-job", true) => "would stop",
            ("training-job", false) => "stopped",
            _ => verb,
        };
        println!("{verb} {} {:<19} {}", ctx.project.kind(), r.kind, r.name);
    }
    let plan = &cleaned.plan;
    if plan.is_empty() {
        println!("nothing to remove in {}", ctx.store.uri());
        return Ok(());
    }
    for item in &plan.items {
        println!("{verb} {:<16} {} ({} objects)", item.kind, item.name, item.objects.len());
    }
    if let Some(report) = &cleaned.report {
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
        match &cleaned.kept {
            Some(p) => println!("kept the promoted model {} (endpoint {}, job {})", p.model, p.endpoint, p.job),
            None => println!("no model is promoted, so --keep-promoted kept nothing"),
        }
    }
    Ok(())
}
