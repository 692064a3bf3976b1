//! The log on stderr: `WB_LOG` (an `EnvFilter` directive) or the default of warnings from the
//! workbench and errors from libraries, written through a filter that keeps credentials out.
//!
//! The AWS SDK's own debug and trace events print resolved identities (`Credentials {
//! access_key_id: "AKIA…", secret_access_key: "** redacted **" }`) and signing parameters; the
//! SDK redacts secret keys and session tokens itself, and [`Redacting`] blanks access key ids
//! (the `access_key_id` field, `Credential=` scopes, and anything shaped like an AWS key id).

use std::io::{self, Write};
use std::sync::LazyLock;

use regex::Regex;
use tracing_subscriber::fmt::MakeWriter;

/// The filter used when `WB_LOG` is unset or invalid.
const DEFAULT_FILTER: &str = "error,wb_core=warn,wb_etl=warn,wb_datasets=warn,wb_models=warn,wb_serving=warn,wb_aws=warn,wb_compare=warn,wb_monitor=warn,wb_workflow=warn,wb_cli=warn";

/// Installs the stderr subscriber.
pub(crate) fn init() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WB_LOG")
                // The workbench's own warnings; other crates (the AWS SDK) only on errors, so
                // a failure stays one `error:` line.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER)),
        )
        .with_writer(Redacting)
        .init();
}

/// Patterns that reveal an access key id, each with its replacement.
static PATTERNS: LazyLock<[(Regex, &'static str); 3]> = LazyLock::new(|| {
    let regex = |pattern: &str| Regex::new(pattern).unwrap_or_else(|e| unreachable!("a valid pattern: {e}"));
    [
        (regex(r#"access_key_id: "[^"]*""#), r#"access_key_id: "** redacted **""#),
        (regex(r"Credential=[^/\s,&]+"), "Credential=**redacted**"),
        (regex(r"\b(AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|AGPA)[A-Z0-9]{16}\b"), "${1}****************"),
    ]
});

/// `text` with access key ids blanked.
pub(crate) fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let mut text = std::borrow::Cow::Borrowed(text);
    for (pattern, replacement) in PATTERNS.iter() {
        if let std::borrow::Cow::Owned(changed) = pattern.replace_all(&text, *replacement) {
            text = std::borrow::Cow::Owned(changed);
        }
    }
    text
}

/// Stderr, with [`redact`] applied to each event (the formatter writes an event at once).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Redacting;

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = Redacting;

    fn make_writer(&'a self) -> Self::Writer {
        Redacting
    }
}

impl Write for Redacting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().lock().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn access_key_ids_are_blanked_and_other_text_kept() {
        let event = r#"resolved identity identity=Identity { data: Credentials { provider_name: "EnvironmentVariable", access_key_id: "testing", secret_access_key: "** redacted **" } }"#;
        let redacted = redact(event);
        assert!(
            !redacted.contains("\"testing\"") && redacted.contains(r#"access_key_id: "** redacted **""#),
            "{redacted}"
        );
        assert_eq!(
            redact("Credential=AKIAIOSFODNN7EXAMPLE/20261206/us-east-1/s3/aws4_request, SignedHeaders=host"),
            "Credential=**redacted**/20261206/us-east-1/s3/aws4_request, SignedHeaders=host"
        );
        assert_eq!(redact("key ASIAIOSFODNN7EXAMPLE used"), "key ASIA**************** used");
        assert_eq!(redact("nothing secret (AKIA short)"), "nothing secret (AKIA short)");
    }
}
