//! The three Lambda functions' deployment packages: one `<function>.zip` per step, each holding
//! the Lambda binary as `bootstrap` (mode 0755) for the `provided.al2023` custom runtime, and a
//! `functions.json` that lists each function's step, architecture, zip and environment.
//!
//! The binary is checked before anything is written: it must be a 64-bit little-endian ELF
//! executable for x86_64 or arm64, the two architectures Lambda runs.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::asl::Functions;
use crate::error::{Error, Result};
use crate::lambda::{ENV_ENDPOINT, ENV_STEP, ENV_STORE, ENV_THRESHOLD, Step};
use crate::steps::Threshold;

/// The custom runtime the functions run on.
pub const RUNTIME: &str = "provided.al2023";
/// The file name Lambda's custom runtimes execute.
pub const BOOTSTRAP: &str = "bootstrap";
/// The package's description file.
pub const MANIFEST: &str = "functions.json";
/// The glibc of Lambda's `provided.al2023` runtime: a binary needing a newer one does not start
/// there.
pub const LAMBDA_GLIBC: (u32, u32) = (2, 34);

/// A Lambda architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Architecture {
    /// `x86_64`.
    #[serde(rename = "x86_64")]
    X86_64,
    /// `arm64` (Graviton).
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// The name Lambda's `Architectures` field uses.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    /// The architecture of the executable at `path`.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the file when it cannot be read or is not a 64-bit
    /// little-endian ELF executable for x86_64 or arm64.
    pub fn of_executable(path: &Path) -> Result<Self> {
        let invalid =
            |expected: String| Error::Invalid { field: "bootstrap", value: path.display().to_string(), expected };
        let mut header = [0_u8; 20];
        let mut file = std::fs::File::open(path).map_err(|e| invalid(format!("a readable executable ({e})")))?;
        let read = file.read(&mut header).map_err(|e| invalid(format!("a readable executable ({e})")))?;
        if read < header.len() || &header[..4] != b"\x7fELF" {
            return Err(invalid(
                "a Linux (ELF) executable: Lambda's provided.al2023 runtime runs one as bootstrap".into(),
            ));
        }
        if header[4] != 2 || header[5] != 1 {
            return Err(invalid("a 64-bit little-endian ELF executable (x86_64 or arm64)".into()));
        }
        match u16::from_le_bytes([header[18], header[19]]) {
            0x3E => Ok(Self::X86_64),
            0xB7 => Ok(Self::Arm64),
            machine => Err(invalid(format!(
                "an x86_64 or arm64 executable (its ELF machine is {machine:#x}); Lambda runs only those"
            ))),
        }
    }
}

/// One packaged function.
#[derive(Clone, Debug, Serialize)]
pub struct PackagedFunction {
    /// The function name (`wb-<endpoint>-<step>`).
    pub name: String,
    /// The step it runs.
    pub step: &'static str,
    /// The zip.
    pub zip: PathBuf,
    /// The zip's size in bytes.
    pub bytes: u64,
    /// The environment the function needs (`WB_STORE` is listed empty when not given).
    pub environment: BTreeMap<String, String>,
}

/// What [`package`] wrote.
#[derive(Clone, Debug, Serialize)]
pub struct Package {
    /// The custom runtime ([`RUNTIME`]).
    pub runtime: &'static str,
    /// The handler Lambda records for a custom runtime ([`BOOTSTRAP`]).
    pub handler: &'static str,
    /// The binary's architecture.
    pub architecture: Architecture,
    /// The binary packaged.
    pub bootstrap: PathBuf,
    /// The binary's size in bytes.
    pub bootstrap_bytes: u64,
    /// The newest glibc symbol version the binary needs (`2.39`), when it links glibc.
    pub glibc: Option<String>,
    /// What would keep the functions from running on Lambda (a glibc newer than
    /// [`LAMBDA_GLIBC`]); empty when nothing was found.
    pub warnings: Vec<String>,
    /// The functions, in workflow order.
    pub functions: Vec<PackagedFunction>,
}

/// What to package.
#[derive(Clone, Debug)]
pub struct PackageOptions {
    /// The function names.
    pub functions: Functions,
    /// The endpoint the classifier invokes.
    pub endpoint: String,
    /// The filter's threshold.
    pub threshold: Threshold,
    /// The project's store, for the serializer's `WB_STORE` (left empty when unknown).
    pub store: Option<String>,
    /// The Lambda binary.
    pub bootstrap: PathBuf,
}

/// Writes `<function>.zip` for each step and [`MANIFEST`] into `dir` (created when missing).
/// Each zip is written beside its final name and renamed, so a zip that exists is whole.
///
/// # Errors
/// [`Error::Invalid`] for a binary Lambda cannot run ([`Architecture::of_executable`]) or a
/// directory or zip that cannot be written (naming the path).
pub fn package(options: &PackageOptions, dir: &Path) -> Result<Package> {
    let architecture = Architecture::of_executable(&options.bootstrap)?;
    let io = |path: &Path, e: &dyn std::fmt::Display| Error::Invalid {
        field: "package",
        value: path.display().to_string(),
        expected: format!("a writable path ({e})"),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
    let binary = std::fs::read(&options.bootstrap).map_err(|e| io(&options.bootstrap, &e))?;
    // The three zips hold the same binary: compress it once.
    let zipped = zip_bootstrap(&binary).map_err(|e| io(dir, &e))?;
    let mut functions = Vec::new();
    for step in Step::ALL {
        let name = match step {
            Step::Serialize => &options.functions.serialize,
            Step::Classify => &options.functions.classify,
            Step::Filter => &options.functions.filter,
        };
        let zip = dir.join(format!("{name}.zip"));
        wb_core::write_file_atomically(&zip, &zipped).map_err(|e| io(&zip, &e))?;
        let mut environment = BTreeMap::from([(ENV_STEP.to_owned(), step.as_str().to_owned())]);
        match step {
            Step::Serialize => {
                environment.insert(ENV_STORE.to_owned(), options.store.clone().unwrap_or_default());
            }
            Step::Classify => {
                environment.insert(ENV_ENDPOINT.to_owned(), options.endpoint.clone());
            }
            Step::Filter => {
                environment.insert(ENV_THRESHOLD.to_owned(), options.threshold.get().to_string());
            }
        }
        functions.push(PackagedFunction {
            name: name.clone(),
            step: step.as_str(),
            zip,
            bytes: zipped.len() as u64,
            environment,
        });
    }
    let glibc = newest_glibc(&binary);
    let mut warnings = Vec::new();
    if let Some((major, minor)) = glibc
        && (major, minor) > LAMBDA_GLIBC
    {
        let warning = format!(
            "{} needs glibc {major}.{minor}, newer than the {}.{} of Lambda's {RUNTIME}: it runs under the emulator but \
             not on AWS; build it with `cargo lambda build --release --bin wb-lambda` and pass --bootstrap",
            options.bootstrap.display(),
            LAMBDA_GLIBC.0,
            LAMBDA_GLIBC.1
        );
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    let package = Package {
        runtime: RUNTIME,
        handler: BOOTSTRAP,
        architecture,
        bootstrap: options.bootstrap.clone(),
        bootstrap_bytes: binary.len() as u64,
        glibc: glibc.map(|(major, minor)| format!("{major}.{minor}")),
        warnings,
        functions,
    };
    let manifest = dir.join(MANIFEST);
    let text = serde_json::to_string_pretty(&package).map_err(|e| io(&manifest, &e))? + "\n";
    wb_core::write_file_atomically(&manifest, text.as_bytes()).map_err(|e| io(&manifest, &e))?;
    tracing::info!(dir = %dir.display(), architecture = architecture.as_str(), bytes = zipped.len(), "packaged the Lambda functions");
    Ok(package)
}

/// The newest `GLIBC_<major>.<minor>` symbol version named in an ELF binary.
fn newest_glibc(binary: &[u8]) -> Option<(u32, u32)> {
    const TAG: &[u8] = b"GLIBC_";
    let mut newest = None;
    for found in memchr::memmem::find_iter(binary, TAG) {
        let start = found + TAG.len();
        let digits: Vec<u8> =
            binary[start..].iter().take(12).copied().take_while(|b| b.is_ascii_digit() || *b == b'.').collect();
        let text = String::from_utf8_lossy(&digits);
        let mut parts = text.split('.');
        if let (Some(Ok(major)), Some(Ok(minor))) = (parts.next().map(str::parse), parts.next().map(str::parse)) {
            newest = newest.max(Some((major, minor)));
        }
    }
    newest
}

/// A zip holding `binary` as an executable `bootstrap`.
fn zip_bootstrap(binary: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .unix_permissions(0o755)
        .large_file(binary.len() as u64 >= u64::from(u32::MAX));
    zip.start_file(BOOTSTRAP, options)?;
    zip.write_all(binary)?;
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_64_bit_linux_executables_for_lambdas_architectures_are_packaged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            path
        };
        let mut elf = *b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0";
        assert_eq!(Architecture::of_executable(&write("x86", &elf)).expect("x86_64"), Architecture::X86_64);
        elf[18] = 0xB7;
        assert_eq!(Architecture::of_executable(&write("arm", &elf)).expect("arm64"), Architecture::Arm64);
        elf[18] = 0x28;
        let err = Architecture::of_executable(&write("arm32", &elf)).expect_err("arm32");
        assert!(err.to_string().contains("0x28"), "{err}");
        elf[4] = 1;
        let err = Architecture::of_executable(&write("elf32", &elf)).expect_err("32-bit");
        assert!(err.to_string().contains("64-bit"), "{err}");
        let err = Architecture::of_executable(&write("script.sh", b"#!/bin/sh\necho hi\n")).expect_err("script");
        assert!(err.to_string().contains("script.sh") && err.to_string().contains("ELF"), "{err}");
        let err = Architecture::of_executable(&dir.path().join("missing")).expect_err("missing");
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn the_newest_glibc_version_a_binary_names_is_found() {
        assert_eq!(newest_glibc(b"\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0"), Some((2, 34)));
        assert_eq!(newest_glibc(b"\0GLIBC_2.39\0GLIBC_PRIVATE\0GLIBC_2.4"), Some((2, 39)));
        assert_eq!(newest_glibc(b"static binary"), None);
    }
}
