//! `wb workflow …`: the image workflow's state machine.

use anyhow::{Context as _, Result};
use serde::Serialize;
use wb_workflow::Threshold;
use wb_workflow::asl::{ExportOptions, Functions, state_machine};

use crate::cli::{WorkflowCommand, WorkflowExportArgs};
use crate::output::print_json;

pub(crate) fn run(command: WorkflowCommand) -> Result<()> {
    match command {
        WorkflowCommand::Export(args) => export(&args),
    }
}

#[derive(Serialize)]
struct Exported {
    file: String,
    start_at: String,
    states: Vec<String>,
    functions: [String; 3],
    threshold: f64,
    timeout_seconds: u32,
}

fn export(args: &WorkflowExportArgs) -> Result<()> {
    let threshold: Threshold = args.threshold.parse()?;
    let functions = Functions::for_endpoint(&args.endpoint)?;
    let mut options = ExportOptions::new(functions.clone(), args.endpoint.clone());
    options.threshold = threshold;
    options.map = args.map;
    options.notify_topic.clone_from(&args.notify_topic);
    options.task_timeout_seconds = args.task_timeout;
    options.timeout_seconds = args.timeout.unwrap_or(if args.map { 300 } else { 60 });
    let machine = state_machine(&options)?;
    let text = serde_json::to_string_pretty(&machine)? + "\n";
    if let Some(parent) = args.to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = wb_core::temp_sibling(&args.to);
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.to).with_context(|| format!("writing {}", args.to.display()))?;
    let summary = Exported {
        file: args.to.display().to_string(),
        start_at: machine["StartAt"].as_str().unwrap_or_default().to_owned(),
        states: machine["States"].as_object().map(|s| s.keys().cloned().collect()).unwrap_or_default(),
        functions: [functions.serialize, functions.classify, functions.filter],
        threshold: threshold.get(),
        timeout_seconds: options.timeout_seconds,
    };
    if args.json {
        return print_json(&summary);
    }
    println!(
        "wrote {} ({}state machine, starts at {:?}; functions {}; threshold {}; timeout {} s)",
        summary.file,
        if args.map { "batch " } else { "" },
        summary.start_at,
        summary.functions.join(", "),
        summary.threshold,
        summary.timeout_seconds
    );
    Ok(())
}
