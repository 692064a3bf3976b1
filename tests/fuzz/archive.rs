//! Archive extraction: `extract_archive_with` on zip, tar and tar.gz archives (what `wb etl`
//! runs on a downloaded archive), with small limits so that nothing writes much. Every input is
//! extracted four times, named `input` (the format sniffed from the bytes), `input.zip`,
//! `input.tar` and `input.tar.gz`, and once more (sniffed) into a destination holding a
//! symbolic link `sub` to a directory beside it.
//!
//! Inputs are archives built byte by byte — entry names with `..`, absolute, drive-prefixed,
//! empty, long (GNU long names, pax, ustar prefixes) or not UTF-8; symbolic and hard links,
//! devices, FIFOs, pax and sparse entries; duplicated names; sizes that lie (zip directories,
//! tar headers, zip64 fields); wrong CRCs, encryption flags, unknown methods; truncated and
//! multi-member gzip — and byte mutations of them and of the corpus.
//!
//! Invariants checked besides "no panic, no hang": nothing is written outside the
//! destination, nothing through the destination's symbolic link, no symbolic link is created,
//! the files written never exceed the size limit, an unsafe entry leaves the destination empty,
//! a successful report lists regular files inside the destination.

use std::io::Write as _;
use std::path::Path;

use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use workbench::etl::Error;
use workbench::etl::extract::{ExtractLimits, ExtractReport, extract_archive_with};

use crate::driver::{DEFAULT_HANG_SECONDS, Runner, Target, Verdict};
use crate::mutate::mutated_from;

pub(crate) const TARGET: Target = Target { name: "archive", runner, inputs, hang_seconds: DEFAULT_HANG_SECONDS };

/// Small limits: nothing writes more than a few MiB.
const LIMITS: ExtractLimits =
    ExtractLimits { max_total_bytes: 4 << 20, max_entry_bytes: 2 << 20, max_entries: 256, max_ratio: 200 };

/// Tokens the mutations insert.
const TOKENS: &[&[u8]] = &[
    b"../",
    b"..",
    b"/",
    b"\\",
    b"\0",
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"PK\x06\x06",
    b"PK\x06\x07",
    b"\x1f\x8b\x08",
    b"ustar\0",
    b"ustar  \0",
    b"\xff\xff\xff\xff",
    b"\xff\xff",
    b"\x00\x00\x00\x00",
    b"././@LongLink",
    b"77777777777",
    b"\x80\0\0\0\0\0\0\xff",
    b"path=../x\n",
    b"C:",
    b"\xff",
];

fn runner() -> Runner {
    Box::new(run)
}

fn run(input: &[u8]) -> Verdict {
    let root = tempfile::tempdir().expect("tempdir");
    let mut verdict = Ok(());
    let mut cases = Vec::new();
    for (i, name) in ["input", "input.zip", "input.tar", "input.tar.gz"].into_iter().enumerate() {
        let case = root.path().join(format!("case{i}"));
        std::fs::create_dir(&case).expect("create a case directory");
        let archive = case.join(name);
        std::fs::write(&archive, input).expect("write the archive");
        let dest = case.join("out");
        let result = extract_archive_with(&archive, &dest, &LIMITS);
        check(&case, &[name, "out"], &dest, &result, false);
        if i == 0 {
            verdict = result.map(drop).map_err(|e| e.to_string());
        }
        cases.push(format!("case{i}"));
    }

    // A destination holding a symbolic link to a directory beside it.
    let case = root.path().join("linked");
    let (dest, outside) = (case.join("out"), case.join("outside"));
    std::fs::create_dir_all(&dest).expect("create the destination");
    std::fs::create_dir_all(&outside).expect("create the directory beside it");
    std::os::unix::fs::symlink("../outside", dest.join("sub")).expect("a symbolic link");
    let archive = case.join("input");
    std::fs::write(&archive, input).expect("write the archive");
    let result = extract_archive_with(&archive, &dest, &LIMITS);
    check(&case, &["input", "out", "outside"], &dest, &result, true);
    let through: Vec<_> = std::fs::read_dir(&outside).expect("read outside").flatten().map(|e| e.path()).collect();
    assert!(through.is_empty(), "files written through the destination's symbolic link: {through:?}");
    cases.push("linked".into());

    let mut beside: Vec<String> = std::fs::read_dir(root.path())
        .expect("read the root")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    cases.sort();
    assert_eq!(beside, cases, "nothing written beside the cases");
    verdict
}

/// Checks one extraction: `case` holds only `expected`; `dest` holds no symbolic link (but the
/// one made there) and at most the size limit; an unsafe entry left it empty; a report lists
/// regular files inside it.
fn check(case: &Path, expected: &[&str], dest: &Path, result: &Result<ExtractReport, Error>, linked: bool) {
    let mut names: Vec<String> = std::fs::read_dir(case)
        .expect("read the case")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.retain(|n| n != "out" || dest.exists());
    names.sort();
    let mut wanted: Vec<String> =
        expected.iter().map(|s| (*s).to_owned()).filter(|n| n != "out" || dest.exists()).collect();
    wanted.sort();
    assert_eq!(names, wanted, "nothing written beside the destination ({result:?})");

    let mut files = Vec::new();
    let mut bytes = 0;
    if dest.exists() {
        walk(dest, &mut |path, meta| {
            if meta.file_type().is_symlink() {
                assert!(linked && path == dest.join("sub"), "a symbolic link was created: {}", path.display());
            } else if meta.is_file() {
                bytes += meta.len();
                files.push(path.to_path_buf());
            }
        });
    }
    assert!(bytes <= LIMITS.max_total_bytes + 1, "{bytes} bytes written, over the limit ({result:?})");
    match result {
        Err(Error::UnsafeArchiveEntry { .. }) => assert!(files.is_empty(), "an unsafe archive wrote {files:?}"),
        Ok(report) => {
            for file in &report.files {
                assert!(file.starts_with(dest), "{} is outside the destination", file.display());
                let meta = std::fs::symlink_metadata(file).expect("a reported file exists");
                assert!(meta.is_file(), "{} is a regular file", file.display());
            }
            assert!(report.bytes <= LIMITS.max_total_bytes, "{} bytes reported", report.bytes);
        }
        Err(_) => {}
    }
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path, &std::fs::Metadata)) {
    for entry in std::fs::read_dir(dir).expect("read a directory").flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        f(&path, &meta);
        if meta.is_dir() {
            walk(&path, f);
        }
    }
}

// ---- inputs ---------------------------------------------------------------------------------

/// An entry name: mostly plain paths from a small pool (so names repeat, and files clash with
/// directories), the unsafe and odd ones, long ones, bytes that are not UTF-8.
fn entry_name() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => "[ab]{1,2}(/[ab]{1,2}){0,2}/?".prop_map(String::into_bytes),
        3 => "[a-z]{1,8}(/[a-z]{1,8}){0,3}/?".prop_map(String::into_bytes),
        4 => select(&[
            "..", "../x", "a/../../x", "a/..", "/etc/x", "/", "\\\\server\\x", "..\\x", "C:/x", "c:x", "C:", "./", ".",
            "", "./a", "a//b", "a/./b", "sub/x", "sub/../x", "sub", "sub/", "a\0b", "ａ/ｂ", "名前/ファイル", "a\\b", "a/",
            "a", "a/b", "CON", " ", "a ", "...", ".../x", "./../x", "a/b/../../..", "//x",
        ][..])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => (vec("[a-z]{40,60}", 2..6)).prop_map(|parts| parts.join("/").into_bytes()),
        1 => vec(any::<u8>(), 0..20),
    ]
    .boxed()
}

/// Entry contents: small, repeated bytes, now and then more than the entry limit.
fn content() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        160 => vec(any::<u8>(), 0..64),
        40 => (any::<u8>(), 0usize..4096).prop_map(|(b, n)| vec![b; n]),
        1 => Just(vec![0u8; (LIMITS.max_entry_bytes + 1) as usize]),
    ]
    .boxed()
}

/// A declared size that may lie.
fn size_lie() -> BoxedStrategy<Option<u64>> {
    prop_oneof![
        12 => Just(None),
        1 => select(&[
            0u64, 1, 511, 512, 513, 1 << 20, 2 << 20, (2 << 20) + 1, 4 << 20, 1 << 32, 1 << 40, u64::MAX >> 1, u64::MAX,
            8 << 30,
        ][..])
        .prop_map(Some),
    ]
    .boxed()
}

#[derive(Clone, Copy, Debug)]
enum LongName {
    Raw,
    Gnu,
    Pax,
    UstarPrefix,
}

#[derive(Clone, Debug)]
struct TarEntry {
    name: Vec<u8>,
    flag: u8,
    content: Vec<u8>,
    size: Option<u64>,
    mode: u32,
    link: Vec<u8>,
    long: LongName,
    pax: Vec<(String, String)>,
    sparse: Vec<(u64, u64)>,
    real_size: u64,
    bad_checksum: bool,
}

fn tar_entry() -> BoxedStrategy<TarEntry> {
    let flag = prop_oneof![
        12 => Just(b'0'),
        6 => Just(b'5'),
        2 => select(&[b'\0', b'1', b'2', b'3', b'4', b'6', b'7', b'g', b'x', b'S', b'L', b'K', b'V', b'M', b'X', b'D'][..]),
        1 => any::<u8>(),
    ];
    let long =
        select(&[LongName::Raw, LongName::Raw, LongName::Raw, LongName::Gnu, LongName::Pax, LongName::UstarPrefix][..]);
    let pax = prop_oneof![
        8 => Just(Vec::new()),
        1 => vec(
            select(&[
                ("size", "99999999999"), ("size", "-1"), ("size", "x"), ("path", "../x"), ("path", "/abs"), ("path", ""),
                ("linkpath", "/etc"), ("mtime", "1e400"), ("uid", "abc"), ("GNU.sparse.map", "0,10,20"),
                ("GNU.sparse.size", "1099511627776"), ("GNU.sparse.major", "1"), ("", ""),
            ][..])
            .prop_map(|(k, v)| (k.to_owned(), v.to_owned())),
            1..3,
        ),
    ];
    let sparse = vec((0u64..4096, 0u64..1024), 0..4);
    (
        (entry_name(), flag, content(), size_lie(), select(&[0o644u32, 0o755, 0o4755, 0o777, 0o7777, 0][..])),
        (entry_name(), long, pax, sparse, 0u64..8192, prop_oneof![24 => Just(false), 1 => Just(true)]),
    )
        .prop_map(|((name, flag, content, size, mode), (link, long, pax, sparse, real_size, bad_checksum))| TarEntry {
            name,
            flag,
            content,
            size,
            mode,
            link,
            long,
            pax,
            sparse,
            real_size,
            bad_checksum,
        })
        .boxed()
}

/// Writes `v` into a numeric tar field: octal, or base-256 when it does not fit.
fn numeric(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let text = format!("{v:0digits$o}");
    if text.len() <= digits {
        field[..digits].copy_from_slice(text.as_bytes());
        field[digits] = 0;
    } else {
        field.fill(0);
        field[0] = 0x80;
        let bytes = v.to_be_bytes();
        let n = bytes.len().min(field.len() - 1);
        let len = field.len();
        field[len - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    }
}

fn block(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(512), 0);
}

fn pax_records(records: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        let body_len = key.len() + value.len() + 3; // " " "=" "\n"
        let mut len = body_len + 1;
        while len != body_len + len.to_string().len() {
            len = body_len + len.to_string().len();
        }
        out.extend_from_slice(format!("{len} {key}=").as_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

fn raw_header(name: &[u8], flag: u8, size: u64, ustar: bool) -> tar::Header {
    let mut header = if ustar { tar::Header::new_ustar() } else { tar::Header::new_gnu() };
    let field = &mut header.as_old_mut().name;
    field.fill(0);
    let n = name.len().min(100);
    field[..n].copy_from_slice(&name[..n]);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::new(flag));
    header.set_cksum();
    header
}

fn tar_bytes(entries: &[TarEntry], end: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut pax: Vec<(String, Vec<u8>)> = e.pax.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();
        let mut ustar = false;
        let mut name = e.name.clone();
        let mut prefix = Vec::new();
        match e.long {
            LongName::Raw => {}
            LongName::Gnu => {
                let mut data = e.name.clone();
                data.push(0);
                out.extend_from_slice(raw_header(b"././@LongLink", b'L', data.len() as u64, false).as_bytes());
                block(&mut out, &data);
            }
            LongName::Pax => pax.push(("path".into(), e.name.clone())),
            LongName::UstarPrefix => {
                ustar = true;
                if let Some(cut) = e.name.iter().take(156).rposition(|&b| b == b'/') {
                    prefix = e.name[..cut].to_vec();
                    name = e.name[cut + 1..].to_vec();
                }
            }
        }
        if !pax.is_empty() {
            let data = pax_records(&pax);
            out.extend_from_slice(raw_header(b"PaxHeaders/x", b'x', data.len() as u64, false).as_bytes());
            block(&mut out, &data);
        }
        let size = e.size.unwrap_or(e.content.len() as u64);
        let mut header = raw_header(&name, e.flag, size, ustar);
        header.set_mode(e.mode);
        let link = &mut header.as_old_mut().linkname;
        let n = e.link.len().min(100);
        link[..n].copy_from_slice(&e.link[..n]);
        if let Some(u) = header.as_ustar_mut() {
            let n = prefix.len().min(155);
            u.prefix[..n].copy_from_slice(&prefix[..n]);
        }
        if e.flag == b'S'
            && let Some(gnu) = header.as_gnu_mut()
        {
            for (slot, (offset, length)) in gnu.sparse.iter_mut().zip(&e.sparse) {
                numeric(&mut slot.offset, *offset);
                numeric(&mut slot.numbytes, *length);
            }
            numeric(&mut gnu.realsize, e.real_size);
        }
        header.set_cksum();
        if e.bad_checksum {
            header.as_old_mut().cksum[0] ^= 1;
        }
        out.extend_from_slice(header.as_bytes());
        block(&mut out, &e.content);
    }
    if end {
        out.extend_from_slice(&[0u8; 1024]);
    }
    out
}

#[derive(Clone, Debug)]
struct ZipEntry {
    name: Vec<u8>,
    content: Vec<u8>,
    method: u16,
    size: Option<u64>,
    compressed: Option<u64>,
    bad_crc: bool,
    mode: Option<u32>,
    flags: u16,
    zip64: bool,
    local_name: Option<Vec<u8>>,
}

fn zip_entry() -> BoxedStrategy<ZipEntry> {
    let mode = prop_oneof![
        4 => Just(None),
        6 => Just(Some(0o100_644u32)),
        2 => Just(Some(0o040_755)),
        1 => select(&[0o120_777u32, 0o010_644, 0o020_644, 0o060_644, 0o140_755, 0o100_755, 0o170_777, 0o644][..]).prop_map(Some),
    ];
    let flags = prop_oneof![12 => Just(0u16), 2 => Just(0x0800), 1 => select(&[1u16, 8, 0x41, 0xffff][..])];
    (
        (
            entry_name(),
            content(),
            prop_oneof![6 => Just(8u16), 4 => Just(0), 1 => select(&[1u16, 12, 14, 93, 99, 0xffff][..])],
        ),
        (size_lie(), size_lie(), prop_oneof![24 => Just(false), 1 => Just(true)], mode, flags),
        (
            prop_oneof![12 => Just(false), 1 => Just(true)],
            prop_oneof![12 => Just(None), 1 => entry_name().prop_map(Some)],
        ),
    )
        .prop_map(|((name, content, method), (size, compressed, bad_crc, mode, flags), (zip64, local_name))| ZipEntry {
            name,
            content,
            method,
            size,
            compressed,
            bad_crc,
            mode,
            flags,
            zip64,
            local_name,
        })
        .boxed()
}

fn u16le(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn u32le(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn zip_bytes(entries: &[ZipEntry], count_lie: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let data = if e.method == 8 {
            let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(&e.content).expect("deflate");
            encoder.finish().expect("deflate")
        } else {
            e.content.clone()
        };
        let mut crc = flate2::Crc::new();
        crc.update(&e.content);
        let crc = if e.bad_crc { crc.sum() ^ 1 } else { crc.sum() };
        let size = e.size.unwrap_or(e.content.len() as u64);
        let compressed = e.compressed.unwrap_or(data.len() as u64);
        let (size32, compressed32, extra) = if e.zip64 || size > u64::from(u32::MAX) || compressed > u64::from(u32::MAX)
        {
            let mut extra = Vec::new();
            u16le(&mut extra, 1);
            u16le(&mut extra, 16);
            extra.extend_from_slice(&size.to_le_bytes());
            extra.extend_from_slice(&compressed.to_le_bytes());
            (u32::MAX, u32::MAX, extra)
        } else {
            (size as u32, compressed as u32, Vec::new())
        };
        let offset = out.len() as u32;
        let local_name = e.local_name.as_ref().unwrap_or(&e.name);
        u32le(&mut out, 0x0403_4b50);
        u16le(&mut out, 20);
        u16le(&mut out, e.flags);
        u16le(&mut out, e.method);
        u32le(&mut out, 0);
        u32le(&mut out, crc);
        u32le(&mut out, compressed32);
        u32le(&mut out, size32);
        u16le(&mut out, local_name.len() as u16);
        u16le(&mut out, extra.len() as u16);
        out.extend_from_slice(local_name);
        out.extend_from_slice(&extra);
        out.extend_from_slice(&data);

        u32le(&mut central, 0x0201_4b50);
        u16le(&mut central, if e.mode.is_some() { 0x0314 } else { 0x0014 });
        u16le(&mut central, 20);
        u16le(&mut central, e.flags);
        u16le(&mut central, e.method);
        u32le(&mut central, 0);
        u32le(&mut central, crc);
        u32le(&mut central, compressed32);
        u32le(&mut central, size32);
        u16le(&mut central, e.name.len() as u16);
        u16le(&mut central, extra.len() as u16);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        let dos_dir = if e.mode.is_none() && e.name.ends_with(b"/") { 0x10 } else { 0 };
        u32le(&mut central, e.mode.map_or(dos_dir, |m| m << 16));
        u32le(&mut central, offset);
        central.extend_from_slice(&e.name);
        central.extend_from_slice(&extra);
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    let count = count_lie.unwrap_or(entries.len() as u16);
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    u16le(&mut out, count);
    u16le(&mut out, count);
    u32le(&mut out, central.len() as u32);
    u32le(&mut out, central_offset);
    u16le(&mut out, 0);
    out
}

fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A tar, tar.gz or zip archive built byte by byte.
fn archive() -> BoxedStrategy<Vec<u8>> {
    let tar = (vec(tar_entry(), 0..6), prop_oneof![8 => Just(true), 1 => Just(false)]);
    let zip = (vec(zip_entry(), 0..6), prop_oneof![12 => Just(None), 1 => any::<u16>().prop_map(Some)]);
    prop_oneof![
        3 => tar.clone().prop_map(|(entries, end)| tar_bytes(&entries, end)),
        3 => (tar, 0u32..10, 0u8..4, any::<proptest::sample::Index>()).prop_map(|((entries, end), level, shape, cut)| {
            let raw = tar_bytes(&entries, end);
            match shape {
                // Two gzip members.
                1 => {
                    let half = raw.len() / 2;
                    let mut out = gzip(&raw[..half], level);
                    out.extend(gzip(&raw[half..], level));
                    out
                }
                // Truncated.
                2 => {
                    let mut out = gzip(&raw, level);
                    out.truncate(cut.index(out.len() + 1));
                    out
                }
                // Gzip of something that is not a tar.
                3 => gzip(&raw[..raw.len().min(300)], level),
                _ => gzip(&raw, level),
            }
        }),
        3 => zip.prop_map(|(entries, count)| zip_bytes(&entries, count)),
    ]
    .boxed()
}

fn inputs(corpus: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let generated = archive();
    prop_oneof![
        1 => generated.clone(),
        1 => mutated_from(generated, corpus, TOKENS),
    ]
    .boxed()
}
