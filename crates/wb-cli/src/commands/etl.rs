//! `wb etl ...`.

use std::io::BufWriter;

use anyhow::{Context as _, Result};
use serde::Serialize;
use wb_etl::cifar::{self, CifarOptions, LabelKind};
use wb_etl::digits;
use wb_etl::download::Download;
use wb_etl::tabular::{CsvOptions, IngestOptions, Lookup, ingest_csv};

use crate::cli::{CifarLabels, EtlCommand, SynthCommand};
use crate::output::{bytes_bar, print_json};

pub(crate) async fn run(command: EtlCommand, quiet: bool) -> Result<()> {
    match command {
        EtlCommand::Download(args) => {
            let bar = bytes_bar(quiet);
            let progress_bar = bar.clone();
            let mut download = Download::new(args.url, args.to).progress(move |p| {
                if let Some(total) = p.total {
                    progress_bar.set_length(total);
                }
                progress_bar.set_position(p.downloaded);
            });
            if let Some(hex) = args.sha256 {
                download = download.sha256(hex);
            }
            let report = download.await;
            bar.finish_and_clear();
            let report = report?;
            if args.json {
                return print_json(&report);
            }
            println!("downloaded {} ({} bytes, sha256 {})", report.path.display(), report.bytes, report.sha256);
            if report.resumed_from > 0 {
                println!("resumed from byte {}", report.resumed_from);
            }
            Ok(())
        }
        EtlCommand::Extract(args) => {
            let (archive, to) = (args.archive.clone(), args.to.clone());
            let limits = wb_etl::extract::ExtractLimits {
                max_total_bytes: args.max_bytes,
                max_entry_bytes: args.max_entry_bytes,
                max_entries: args.max_entries,
                max_ratio: args.max_ratio,
            };
            let report =
                tokio::task::spawn_blocking(move || wb_etl::extract::extract_archive_with(&archive, &to, &limits))
                    .await??;
            if args.json {
                return print_json(&report);
            }
            println!("extracted {} files ({} bytes) into {}", report.files.len(), report.bytes, args.to.display());
            Ok(())
        }
        EtlCommand::Ingest(args) => {
            let missing = if args.missing.is_empty() { CsvOptions::default().missing } else { args.missing };
            let lookups = args.lookup.iter().map(|l| l.parse::<Lookup>()).collect::<Result<Vec<_>, _>>()?;
            let options = IngestOptions { csv: CsvOptions::with_missing(missing), schema: None, lookups };
            let (csv, to) = (args.csv.clone(), args.to.clone());
            let report = tokio::task::spawn_blocking(move || ingest_csv(&csv, &to, &options)).await??;
            if args.json {
                return print_json(&report);
            }
            println!("wrote {} ({} rows, {} bytes)", report.output.display(), report.rows, report.bytes);
            for (name, data_type) in &report.columns {
                println!("  {name}: {data_type}");
            }
            Ok(())
        }
        EtlCommand::Cifar(args) => {
            let labels = match args.labels {
                CifarLabels::Fine => LabelKind::Fine,
                CifarLabels::Coarse => LabelKind::Coarse,
            };
            let options = CifarOptions { classes: args.classes, labels };
            let (source, to) = (args.source.clone(), args.to.clone());
            let summary = tokio::task::spawn_blocking(move || cifar::etl(&source, &to, &options)).await??;
            if args.json {
                return print_json(&summary);
            }
            println!(
                "wrote {} train and {} test images of {} {} classes into {}",
                summary.train,
                summary.test,
                summary.classes.len(),
                summary.source.name(),
                summary.output.display()
            );
            Ok(())
        }
        EtlCommand::Digits(args) => {
            #[derive(Serialize)]
            struct Out {
                path: String,
                train: usize,
                test: usize,
                classes: Vec<u32>,
            }
            let to = args.to.clone();
            let (classes, seed) = (args.classes.clone(), args.seed);
            let archive = tokio::task::spawn_blocking(move || -> Result<_> {
                let archive = digits::to_cifar(&digits::load()?, classes.as_deref(), seed)?;
                cifar::write_archive(&to, &archive)?;
                Ok(archive)
            })
            .await??;
            let mut classes: Vec<u32> = archive.train.iter().chain(&archive.test).map(|i| i.label).collect();
            classes.sort_unstable();
            classes.dedup();
            let out = Out {
                path: args.to.display().to_string(),
                train: archive.train.len(),
                test: archive.test.len(),
                classes,
            };
            if args.json {
                return print_json(&out);
            }
            println!("wrote {} ({} train and {} test digit images, CIFAR-10 format)", out.path, out.train, out.test);
            Ok(())
        }
        EtlCommand::Synth(SynthCommand::Readmission(args)) => {
            #[derive(Serialize)]
            struct Out {
                path: String,
                rows: u64,
                positives: u64,
                columns: usize,
                mapping: Option<String>,
            }
            let to = args.to.clone();
            let (rows, seed) = (args.rows, args.seed);
            let report = tokio::task::spawn_blocking(move || -> Result<_> {
                if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                let tmp = wb_core::temp_sibling(&to);
                let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
                let report = wb_etl::synth::write_readmission_csv(BufWriter::new(file), rows, seed);
                match report {
                    Ok(r) => {
                        std::fs::rename(&tmp, &to).with_context(|| format!("writing {}", to.display()))?;
                        Ok(r)
                    }
                    Err(e) => {
                        let _ = std::fs::remove_file(&tmp);
                        Err(e.into())
                    }
                }
            })
            .await??;
            if let Some(mapping) = &args.mapping {
                std::fs::write(mapping, wb_etl::synth::admission_type_mapping_csv())
                    .with_context(|| format!("writing {}", mapping.display()))?;
            }
            let out = Out {
                path: args.to.display().to_string(),
                rows: report.rows,
                positives: report.positives,
                columns: report.columns.len(),
                mapping: args.mapping.map(|m| m.display().to_string()),
            };
            if args.json {
                return print_json(&out);
            }
            println!("wrote {} ({} rows, {} columns, {} positives)", out.path, out.rows, out.columns, out.positives);
            Ok(())
        }
    }
}
