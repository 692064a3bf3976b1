//! The README's commands name things that exist and run as written.

use std::path::Path;

/// Every `cargo run ... -p PACKAGE` in the README runs one binary: the package has a single
/// `[[bin]]`, or a `default-run` naming one of them (without it, cargo refuses to choose, as
/// `cargo run -p wb-cli -- demo` did once `wb-lambda` became the package's second binary).
#[test]
fn readme_cargo_run_commands_name_one_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut checked = 0;
    for line in readme.lines().filter(|l| l.contains("cargo run") && l.contains(" -p ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "-p").expect("-p");
        let package = words.get(at + 1).expect("a package after -p").trim_matches('`');
        let manifest_path = root.join("crates").join(package).join("Cargo.toml");
        let manifest: toml::Table = std::fs::read_to_string(&manifest_path)
            .unwrap_or_else(|e| {
                panic!("{line:?} names {package}, whose {} is unreadable: {e}", manifest_path.display())
            })
            .parse()
            .expect("Cargo.toml parses");
        let bins: Vec<&str> = manifest
            .get("bin")
            .and_then(toml::Value::as_array)
            .map(|bins| bins.iter().filter_map(|b| b.get("name").and_then(toml::Value::as_str)).collect())
            .unwrap_or_default();
        if bins.len() > 1 {
            let default = manifest.get("package").and_then(|p| p.get("default-run")).and_then(toml::Value::as_str);
            assert!(
                default.is_some_and(|d| bins.contains(&d)),
                "{line:?}: {package} has binaries {bins:?} and no default-run naming one of them"
            );
        }
        checked += 1;
    }
    assert!(checked >= 2, "the README's demo commands were found ({checked})");
}
