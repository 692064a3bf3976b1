//! Printing results: human text or JSON, and progress indicators.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A spinner on stderr for work of unknown length; hidden when quiet or not a terminal.
pub(crate) fn spinner(quiet: bool, message: impl Into<String>) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message.into());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// A byte-count progress bar on stderr; hidden when quiet or not a terminal.
pub(crate) fn bytes_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("valid template"),
    );
    bar
}

/// The error and its causes on one line, without repeating a cause that a message already
/// includes.
pub(crate) fn one_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line.replace('\n', " ")
}

/// Where a stored report's `index.html` can be opened: a file path on a local store, the
/// object URI otherwise.
pub(crate) fn report_location(store: &wb_core::DynObjectStore, prefix: &wb_core::ObjectPath) -> String {
    match store.uri() {
        wb_core::StoreUri::Local(dir) => dir.join(prefix.as_str()).join("index.html").display().to_string(),
        other => format!("{}/index.html", other.object_uri(prefix)),
    }
}
