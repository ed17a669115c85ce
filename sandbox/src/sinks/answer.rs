//! What the HTTP sinks answer: a `200 OK` with a small body of the kind the
//! request's path asks for, so the code after the download goes on and
//! shows what it does with it.
//!
//! A package that fetches `install.sh` and pipes it to `sh`, or downloads a
//! tarball and unpacks it, would stop at an empty body or an error page; a
//! harmless stand-in of the right type lets it reach its next step (`chmod
//! +x`, `exec`, `tar -x`), which is what the trace should show. Every body
//! is valid for its type and does nothing: the scripts exit 0, the archives
//! are empty.

use std::time::{SystemTime, UNIX_EPOCH};

/// What the request's path asks for, by its extension or its look.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Shell,
    /// An executable download without an extension or with a binary one:
    /// a shell script still runs when it is `exec`ed.
    Binary,
    Python,
    JavaScript,
    Json,
    TarGz,
    Tar,
    Zip,
    Gzip,
    Text,
    PowerShell,
    Batch,
    Html,
}

const SHELL: &str =
    "#!/bin/sh\n# Stand-in served by the sandbox's network sink in place of the file requested.\nexit 0\n";
const PYTHON: &str =
    "# Stand-in served by the sandbox's network sink in place of the file requested.\nimport sys\n\nsys.exit(0)\n";
/// Valid as a CommonJS script and as an ES module.
const JAVASCRIPT: &str =
    "// Stand-in served by the sandbox's network sink in place of the file requested.\n\"use strict\";\n";
const TEXT: &str = "OK\n";
const POWERSHELL: &str =
    "# Stand-in served by the sandbox's network sink in place of the file requested.\r\nexit 0\r\n";
const BATCH: &str =
    "@echo off\r\nrem Stand-in served by the sandbox's network sink in place of the file requested.\r\nexit /b 0\r\n";
const HTML: &str = "<!DOCTYPE html>\n<html>\n<head><title>Welcome</title></head>\n<body>\n<h1>Welcome</h1>\n<p>It works.</p>\n</body>\n</html>\n";
/// A tar archive ends with two 512-byte zero blocks; an empty one is
/// nothing else.
const TAR_END: [u8; 1024] = [0; 1024];
/// The one file in the ZIP stand-in. An empty ZIP (its 22-byte end
/// record alone) is valid, but Info-ZIP's `unzip` exits 1 on it ("zipfile
/// is empty"), which would stop `unzip x.zip && ...`.
const ZIP_ENTRY: (&str, &str) = ("README.txt", TEXT);

/// The full HTTP/1.1 response to a request: always `200 OK`, `Connection:
/// close`, the body's length and type, and the body unless `method` is
/// `HEAD`. The body is chosen by the path of `target` (query and fragment
/// ignored, absolute form understood).
///
/// `CONNECT` gets `200 Connection established` without a body or length
/// (RFC 9110 9.3.6): what follows on the connection is the tunnel.
pub(super) fn http_answer(method: &str, target: &str) -> Vec<u8> {
    let date = http_date(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    if method == "CONNECT" {
        return format!("HTTP/1.1 200 Connection established\r\nDate: {date}\r\n\r\n").into_bytes();
    }
    let path = path_of(target);
    if is_prebuilt_binary(path) {
        // What a missing prebuilt looks like: prebuild-install, node-pre-gyp
        // and friends then build from source (traced), where an empty
        // archive would have "installed" nothing and failed at first use.
        let body = b"Not Found";
        let mut response = format!(
            "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nDate: {date}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        if method != "HEAD" {
            response.extend_from_slice(body);
        }
        return response;
    }
    let kind = kind_of(path);
    let body = body(kind);
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: {date}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        content_type(kind),
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        response.extend_from_slice(&body);
    }
    response
}

/// A native addon's prebuilt binary: an archive or `.node` file under a
/// release-download path (GitHub's `/releases/download/`, node-pre-gyp's
/// and prebuild's conventions).
fn is_prebuilt_binary(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let archive = [".tar.gz", ".tgz", ".tar.xz", ".zip", ".node"].iter().any(|e| lower.ends_with(e));
    archive && lower.contains("/releases/download/")
}

/// The path of a request target: without `scheme://authority` in absolute
/// form, without query and fragment.
fn path_of(target: &str) -> &str {
    let target = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |slash| &rest[slash..]),
        None => target,
    };
    let end = target.find(['?', '#']).unwrap_or(target.len());
    &target[..end]
}

fn kind_of(path: &str) -> Kind {
    let name = path.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
    if name.is_empty() {
        // `/` or a directory.
        return Kind::Html;
    }
    if name.ends_with(".tar.gz") {
        return Kind::TarGz;
    }
    let Some((_, extension)) = name.rsplit_once('.') else {
        // `/install`, `/payload`, `/x`: a download by the look of it.
        return Kind::Binary;
    };
    match extension {
        "sh" | "bash" => Kind::Shell,
        "bin" | "elf" | "exe" | "run" | "out" => Kind::Binary,
        "py" => Kind::Python,
        "js" | "mjs" | "cjs" => Kind::JavaScript,
        "json" => Kind::Json,
        "tgz" => Kind::TarGz,
        "tar" => Kind::Tar,
        "zip" => Kind::Zip,
        "gz" => Kind::Gzip,
        "txt" => Kind::Text,
        "ps1" => Kind::PowerShell,
        "bat" | "cmd" => Kind::Batch,
        _ => Kind::Html,
    }
}

fn content_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Shell => "text/x-shellscript",
        Kind::Binary => "application/octet-stream",
        Kind::Python => "text/x-python",
        Kind::JavaScript => "application/javascript",
        Kind::Json => "application/json",
        Kind::TarGz | Kind::Gzip => "application/gzip",
        Kind::Tar => "application/x-tar",
        Kind::Zip => "application/zip",
        Kind::Text | Kind::PowerShell | Kind::Batch => "text/plain; charset=utf-8",
        Kind::Html => "text/html; charset=utf-8",
    }
}

fn body(kind: Kind) -> Vec<u8> {
    match kind {
        Kind::Shell | Kind::Binary => SHELL.into(),
        Kind::Python => PYTHON.into(),
        Kind::JavaScript => JAVASCRIPT.into(),
        Kind::Json => b"{}".to_vec(),
        Kind::TarGz => gzip_stored(&TAR_END),
        Kind::Tar => TAR_END.to_vec(),
        Kind::Zip => zip_stored(ZIP_ENTRY.0, ZIP_ENTRY.1.as_bytes()),
        Kind::Gzip => gzip_stored(&[]),
        Kind::Text => TEXT.into(),
        Kind::PowerShell => POWERSHELL.into(),
        Kind::Batch => BATCH.into(),
        Kind::Html => HTML.into(),
    }
}

/// `data` in a gzip member (RFC 1952) whose deflate stream (RFC 1951) is
/// one stored block: no compressor needed, and `data` is at most a
/// kilobyte.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).expect("one stored block holds at most 65535 bytes");
    // Magic, deflate, no flags, no mtime, no extra flags, OS unix.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    // BFINAL=1, BTYPE=00 (stored), then LEN and its complement NLEN.
    out.push(1);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::from(len).to_le_bytes());
    out
}

/// A ZIP archive (APPNOTE 4.3) of one file, stored: local header, data,
/// central directory, end record. `name` and `data` are constants of a few
/// bytes.
fn zip_stored(name: &str, data: &[u8]) -> Vec<u8> {
    let name_len = u16::try_from(name.len()).expect("a short name");
    let size = u32::try_from(data.len()).expect("a small file");
    let crc = crc32(data);
    // Version 1.0, no flags, stored, 1980-01-01 00:00 (DOS time 0, date
    // 0x21), CRC, sizes, name length, no extra field.
    let common = |out: &mut Vec<u8>| {
        for half in [10u16, 0, 0, 0, 0x21] {
            out.extend_from_slice(&half.to_le_bytes());
        }
        for word in [crc, size, size] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
    };
    let mut out = b"PK\x03\x04".to_vec();
    common(&mut out);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(data);
    let directory_start = u32::try_from(out.len()).expect("a small archive");
    // Made by version 1.0 on MS-DOS, then as in the local header, then no
    // comment, disk 0, no attributes, and where the local header is.
    out.extend_from_slice(b"PK\x01\x02\x0a\x00");
    common(&mut out);
    out.extend_from_slice(&[0; 2 + 2 + 2 + 4]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    let directory_len = u32::try_from(out.len()).expect("a small archive") - directory_start;
    // End record: disk 0, directory on disk 0, one entry here and in all.
    out.extend_from_slice(b"PK\x05\x06");
    for half in [0u16, 0, 1, 1] {
        out.extend_from_slice(&half.to_le_bytes());
    }
    out.extend_from_slice(&directory_len.to_le_bytes());
    out.extend_from_slice(&directory_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// CRC-32 as gzip and ZIP use it (reflected, polynomial 0xEDB88320),
/// bit by bit: the bodies are tiny.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// An IMF-fixdate (RFC 9110 5.6.7), `Sun, 06 Nov 1994 08:49:37 GMT`, for
/// `secs` since the Unix epoch. A response without `Date` is unusual
/// enough to stand out.
fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs / 86_400;
    let (hour, minute, second) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm,
    // shifted so that a 400-year era starts on 0000-03-01).
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    let weekday = DAYS[usize::try_from(days % 7).unwrap_or_default()];
    let month_name = MONTHS[usize::try_from(month - 1).unwrap_or_default()];
    format!("{weekday}, {day:02} {month_name} {year} {hour:02}:{minute:02}:{second:02} GMT")
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;

    /// Headers (lower-cased names) and body of a response.
    fn split(response: &[u8]) -> (String, Vec<(String, String)>, Vec<u8>) {
        let end = response.windows(4).position(|w| w == b"\r\n\r\n").expect("end of head") + 4;
        let head = std::str::from_utf8(&response[..end]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().to_string();
        let headers = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (name, value) = l.split_once(": ").unwrap();
                (name.to_ascii_lowercase(), value.to_string())
            })
            .collect();
        (status, headers, response[end..].to_vec())
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name}"))
    }

    /// Body and content type of a GET of `target`, after checking the
    /// response's frame.
    fn get(target: &str) -> (Vec<u8>, String) {
        let (status, headers, body) = split(&http_answer("GET", target));
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(header(&headers, "connection"), "close");
        assert_eq!(header(&headers, "content-length"), body.len().to_string());
        assert!(body.len() < 2048, "{target}: {} bytes", body.len());
        (body, header(&headers, "content-type").to_string())
    }

    #[test]
    fn kinds_by_path() {
        let cases = [
            ("/install.sh", Kind::Shell),
            ("/get.bash?v=2", Kind::Shell),
            ("/install", Kind::Binary),
            ("/payload", Kind::Binary),
            ("/x", Kind::Binary),
            ("/dl/agent.BIN", Kind::Binary),
            ("/a.elf", Kind::Binary),
            ("/setup.exe#frag", Kind::Binary),
            ("/a.run", Kind::Binary),
            ("/a.out", Kind::Binary),
            ("/hook.py", Kind::Python),
            ("/x.js", Kind::JavaScript),
            ("/x.mjs", Kind::JavaScript),
            ("/x.cjs", Kind::JavaScript),
            ("/api/config.json", Kind::Json),
            ("/pkg-1.0.tar.gz", Kind::TarGz),
            ("/pkg.tgz", Kind::TarGz),
            ("/pkg.tar", Kind::Tar),
            ("/pkg.zip", Kind::Zip),
            ("/data.gz", Kind::Gzip),
            ("/notes.txt", Kind::Text),
            ("/run.ps1", Kind::PowerShell),
            ("/run.bat", Kind::Batch),
            ("/", Kind::Html),
            ("", Kind::Html),
            ("/dir/", Kind::Html),
            ("/index.html", Kind::Html),
            ("/a.htm", Kind::Html),
            ("/gate.php?id=1", Kind::Html),
            ("/style.css", Kind::Html),
            ("/x.sh/", Kind::Html),
        ];
        for (target, kind) in cases {
            assert_eq!(kind_of(path_of(target)), kind, "{target}");
        }
        // Absolute form, and a query that looks like a file.
        assert_eq!(kind_of(path_of("http://evil.example/i.sh?x=.zip")), Kind::Shell);
        assert_eq!(kind_of(path_of("http://evil.example")), Kind::Html);
        assert_eq!(kind_of(path_of("/?f=x.sh")), Kind::Html);
    }

    #[test]
    fn head_gets_the_headers_only() {
        let get = http_answer("GET", "/pkg.zip");
        let head = http_answer("HEAD", "/pkg.zip");
        let (_, headers, body) = split(&head);
        assert!(body.is_empty());
        let length: usize = header(&headers, "content-length").parse().unwrap();
        assert!(length > 22);
        assert_eq!(head.len(), get.len() - length);
        let connect = http_answer("CONNECT", "evil.example:443");
        assert!(connect.starts_with(b"HTTP/1.1 200 Connection established\r\n"));
        assert!(!String::from_utf8(connect).unwrap().to_ascii_lowercase().contains("content-length"));
    }

    #[test]
    fn crc32_matches_known_vectors() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
        assert_eq!(crc32(&[0; 1024]), 0xEFB5_AF2E);
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
    }

    #[test]
    fn archives_are_well_formed() {
        let (tar, kind) = get("/x.tar");
        assert_eq!((tar, kind.as_str()), (vec![0; 1024], "application/x-tar"));

        let (zip, kind) = get("/x.zip");
        assert_eq!(kind, "application/zip");
        assert_eq!(&zip[..4], b"PK\x03\x04");
        assert_eq!(&zip[30..40], b"README.txt");
        assert_eq!(&zip[40..43], b"OK\n");
        assert_eq!(&zip[43..47], b"PK\x01\x02");
        let end = &zip[zip.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(&end[8..12], [1, 0, 1, 0], "one entry");
        assert_eq!(u32::from_le_bytes(end[16..20].try_into().unwrap()), 43, "directory after the one file");
        assert_eq!(usize::try_from(u32::from_le_bytes(end[12..16].try_into().unwrap())).unwrap(), zip.len() - 22 - 43);

        let (tgz, kind) = get("/x.tgz");
        assert_eq!(kind, "application/gzip");
        assert_eq!(&tgz[..3], [0x1f, 0x8b, 8]);
        assert_eq!(&tgz[10..15], [1, 0x00, 0x04, 0xff, 0xfb], "one final stored block of 1024 bytes");
        assert_eq!(&tgz[15..15 + 1024], [0; 1024]);
        assert_eq!(&tgz[tgz.len() - 8..], [0x2e, 0xaf, 0xb5, 0xef, 0, 4, 0, 0], "CRC-32 and size");

        let (gz, _) = get("/x.gz");
        assert_eq!(gz, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    fn write(dir: &Path, name: &str, target: &str) {
        std::fs::write(dir.join(name), get(target).0).unwrap();
    }

    fn run(command: &mut Command) -> String {
        let output = command.output().unwrap_or_else(|e| panic!("failed to run {command:?}: {e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{command:?}: {}\n{stderr}", output.status);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The real tools accept what the sinks serve.
    #[test]
    fn tools_accept_the_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (name, target) in [
            ("a.tar.gz", "/a.tar.gz"),
            ("a.tar", "/a.tar"),
            ("a.zip", "/a.zip"),
            ("a.gz", "/a.gz"),
            ("a.py", "/a.py"),
            ("install.sh", "/install.sh"),
            ("payload", "/payload"),
        ] {
            write(d, name, target);
        }
        let checks = "import gzip, sys, tarfile, zipfile\n\
            d = sys.argv[1]\n\
            assert tarfile.open(d + '/a.tar.gz').getmembers() == []\n\
            assert tarfile.open(d + '/a.tar').getmembers() == []\n\
            z = zipfile.ZipFile(d + '/a.zip')\n\
            assert z.testzip() is None and z.read('README.txt') == b'OK\\n', z.namelist()\n\
            assert gzip.open(d + '/a.gz').read() == b''\n\
            compile(open(d + '/a.py').read(), 'a.py', 'exec')\n\
            print('ok')\n";
        assert_eq!(run(Command::new("python3").args(["-c", checks]).arg(d)), "ok\n");
        assert_eq!(run(Command::new("python3").arg(d.join("a.py"))), "");
        assert_eq!(run(Command::new("tar").arg("-tzf").arg(d.join("a.tar.gz"))), "", "no members");
        assert_eq!(run(Command::new("tar").arg("-tf").arg(d.join("a.tar"))), "");
        assert_eq!(run(Command::new("gzip").arg("-t").arg(d.join("a.gz"))), "");
        // Not installed everywhere (CI installs no unzip); Python's check
        // above covers the format.
        if Command::new("unzip").arg("-v").output().is_ok() {
            let listing = run(Command::new("unzip").arg("-l").arg(d.join("a.zip")));
            assert!(listing.contains("README.txt"), "{listing}");
        }
        // `sh f` and `chmod +x f && ./f` both succeed.
        run(Command::new("sh").arg(d.join("install.sh")));
        run(Command::new("sh").arg("-c").arg("chmod +x \"$1\" && \"$1\"").arg("sh").arg(d.join("payload")));
    }

    #[test]
    fn node_runs_the_scripts() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.js", "a.mjs", "a.cjs"] {
            write(dir.path(), name, &format!("/{name}"));
            assert_eq!(run(Command::new("node").arg(dir.path().join(name))), "", "{name}");
        }
        let (json, kind) = get("/config.json");
        assert_eq!((json.as_slice(), kind.as_str()), (&b"{}"[..], "application/json"));
    }

    #[test]
    fn plain_bodies() {
        let (html, kind) = get("/");
        assert_eq!(kind, "text/html; charset=utf-8");
        assert!(html.starts_with(b"<!DOCTYPE html>") && html.ends_with(b"</html>\n"));
        assert_eq!(get("/a.txt"), (b"OK\n".to_vec(), "text/plain; charset=utf-8".into()));
        assert!(get("/a.bat").0.starts_with(b"@echo off\r\n"));
        assert!(get("/a.ps1").0.starts_with(b"# "));
        assert!(get("/payload").0.starts_with(b"#!/bin/sh\n"));
        assert_eq!(get("/payload").1, "application/octet-stream");
    }

    #[test]
    fn prebuilt_binaries_are_not_found() {
        let text = |t: &str| String::from_utf8_lossy(&http_answer("GET", t)).into_owned();
        let missing = text("/TryGhost/node-sqlite3/releases/download/v5.1.7/sqlite3-v5.1.7-napi-v6-linux-x64.tar.gz");
        assert!(missing.starts_with("HTTP/1.1 404 Not Found\r\n"), "{missing}");
        assert!(text("/releases/download/v1/stage2.sh").starts_with("HTTP/1.1 200 OK"), "a script is still served");
        assert!(text("/dist/lib.tar.gz").starts_with("HTTP/1.1 200 OK"), "other archives are still served");
    }
}
