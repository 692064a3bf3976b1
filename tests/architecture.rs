//! Architecture invariant: only the constructors know the backend.
//!
//! `ProjectBuilder::open` (src/project.rs) is the one place that reads `[backend] kind` and
//! builds a backend; `wb` turns `--backend` into the configuration and nothing more. Everything
//! else goes through `Arc<dyn Backend>`. This test scans the facade's and the CLI's sources for
//! the ways code could ask which backend it runs on.

use std::path::{Path, PathBuf};

/// What asks for a backend by name, and the only files allowed to (with why).
const RULES: &[(&str, &[&str])] = &[
    // The constructor.
    ("SageMakerBackend", &["src/project.rs"]),
    ("LocalBackend", &["src/project.rs"]),
    // `--backend` → the configuration (the From impl, and the demo's configuration).
    ("BackendKind::Sagemaker", &["src/project.rs", "crates/wb-cli/src/cli.rs", "crates/wb-cli/src/commands/demo.rs"]),
    ("BackendKind::Local", &["src/project.rs", "crates/wb-cli/src/cli.rs"]),
    ("backend.kind ==", &["src/project.rs"]),
    // `wb demo --backend X` refuses a project directory of the other kind.
    ("backend.kind !=", &["crates/wb-cli/src/commands/demo.rs"]),
    (".kind() ==", &[]),
    (".kind() !=", &[]),
    ("is_sagemaker", &[]),
    ("backend == \"", &[]),
    ("backend != \"", &[]),
    ("wb_aws::backend", &["src/project.rs"]),
    ("wb_aws::hosting", &[]),
    ("wb_aws::training", &[]),
    // The Lambda binary has no project: it builds its invoker from its environment (SageMaker
    // Runtime unless WB_RUNTIME_URL names a local server).
    ("wb_aws::SageMakerRuntime", &["crates/wb-cli/src/bin/wb-lambda.rs"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_constructors_know_the_backend() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("crates/wb-cli/src"), &mut files);
    assert!(files.len() > 10, "the sources were found: {files:?}");
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(root).expect("inside the root").to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(file).expect("read");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (pattern, allowed) in RULES {
                if code.contains(pattern) && !allowed.contains(&relative.as_str()) {
                    violations.push(format!("{relative}:{}: {pattern}: {}", number + 1, line.trim()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "backend branches outside the constructors:\n{}", violations.join("\n"));
}

#[test]
fn the_scan_finds_a_branch_where_there_is_one() {
    // The rules are not vacuous: the constructor itself matches them.
    let project = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/project.rs")).expect("read");
    assert!(RULES.iter().any(|(pattern, _)| project.contains(pattern)), "src/project.rs builds the backends");
}
