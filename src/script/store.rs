//! The durable, versioned script store under `server.script_dir` (issue 6):
//! what the admin API's customer-script and global-script endpoints read and
//! write. No HTTP and no compiling here; the caller validates a script before
//! [`ScriptStore::put`] and compiles what [`ScriptStore::active`] returns.
//!
//! # Layout
//!
//! ```text
//! <dir>/customers/<id>/v000001.lua      one file per version, never rewritten;
//! <dir>/customers/<id>/v000002.js       the language is the extension
//! <dir>/customers/<id>/active           "2\n": the active version (absent = none)
//! <dir>/global/<name>/vNNNNNN.{lua,js}  the same for global scripts, plus
//! <dir>/global/<name>/priority          "first\n" | "last\n" | "disabled\n"
//! ```
//!
//! # Durability
//!
//! Every file is written whole to a temp file (`.tmp-*`) in its final
//! directory, `write_all`, `sync_all`, renamed over its final name, then the
//! directory is fsynced. A crash leaves either the old state or the new one,
//! never a half file under a final name; leftover temp files are ignored by
//! every read and removed by [`ScriptStore::open`]. Activation and rollback
//! only rewrite the small `active` pointer the same way, so they are atomic.
//! [`ScriptStore::deactivate`] removes the pointer; versions stay for history
//! and rollback. Versions are never deleted or renumbered.
//!
//! # Limits and concurrency
//!
//! Owner names are `[A-Za-z0-9_.-]{1,64}` and not `.`/`..` ([`valid_name`]).
//! At most [`MAX_VERSIONS`] versions per owner ([`StoreError::TooMany`] after
//! that) and [`MAX_SOURCE_BYTES`] per source, on write and on read. Writers
//! (`put`, `activate`, `deactivate`, `set_priority`) are serialized by one
//! store-wide mutex, so concurrent uploads get distinct version numbers;
//! readers take no lock (every file they see is complete). Use one store per
//! `script_dir` per process and open it once (at startup): `open` removes temp
//! files, including those of a writer in flight.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::UNIX_EPOCH;

use super::Lang;
use crate::config::Priority;

/// Most versions one owner may have (numbers `1..=MAX_VERSIONS`).
pub const MAX_VERSIONS: u32 = 10_000;

/// Largest script source accepted by `put` and read back by `get`/`active`.
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

/// Prefix of temp files; such files are never read and are removed at open.
const TMP_PREFIX: &str = ".tmp-";
const ACTIVE: &str = "active";
const PRIORITY: &str = "priority";
const CUSTOMERS: &str = "customers";
const GLOBAL: &str = "global";

/// Whose script: a customer (by id) or a global script (by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    Customer(&'a str),
    Global(&'a str),
}

impl Owner<'_> {
    fn name(self) -> &'static str {
        match self {
            Owner::Customer(_) => CUSTOMERS,
            Owner::Global(_) => GLOBAL,
        }
    }

    fn id(&self) -> &str {
        match self {
            Owner::Customer(id) | Owner::Global(id) => id,
        }
    }
}

/// One stored version with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub version: u32,
    pub lang: Lang,
    pub source: String,
    /// The version file (use it as the script's display name).
    pub path: PathBuf,
}

/// One line of `GET .../script/versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: u32,
    pub lang: Lang,
    /// Source size.
    pub bytes: u64,
    /// When the version was stored (the file's mtime; it is never rewritten).
    pub created_unix_ms: u64,
    /// Whether the `active` pointer names this version.
    pub active: bool,
}

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// Not `[A-Za-z0-9_.-]{1,64}`, or `.`/`..`.
    #[error("invalid name {0:?}: expected 1 to 64 of A-Z a-z 0-9 _ . -")]
    BadName(String),
    #[error("no such version {0}")]
    NoSuchVersion(u32),
    /// A file the store reads does not hold what the store writes.
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("too many versions (at most {MAX_VERSIONS})")]
    TooMany,
    #[error("script too large: {bytes} bytes (at most {MAX_SOURCE_BYTES})")]
    TooLarge { bytes: u64 },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `name` is a valid customer id / global script name for the store.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn ext(lang: Lang) -> &'static str {
    match lang {
        Lang::Lua => "lua",
        Lang::Js => "js",
    }
}

/// `v000042.lua` → (42, Lua); anything else (temp files, pointers, strays) → None.
fn parse_version_file(file: &str) -> Option<(u32, Lang)> {
    let rest = file.strip_prefix('v')?;
    let (digits, extension) = rest.split_once('.')?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let version: u32 = digits.parse().ok()?;
    if version == 0 || version > MAX_VERSIONS {
        return None;
    }
    let lang = match extension {
        "lua" => Lang::Lua,
        "js" => Lang::Js,
        _ => return None,
    };
    Some((version, lang))
}

fn version_file(version: u32, lang: Lang) -> String {
    format!("v{version:06}.{}", ext(lang))
}

/// Fsyncs a directory so renames and removals in it are durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads at most `max` bytes; more is `TooLarge`; absent is `Ok(None)`.
fn read_capped(path: &Path, max: usize) -> Result<Option<Vec<u8>>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut buf = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(io_err(path))?;
    if buf.len() > max {
        let bytes = fs::metadata(path).map_or(buf.len() as u64, |m| m.len());
        return Err(StoreError::TooLarge { bytes });
    }
    Ok(Some(buf))
}

/// Reads a small one-line file (`active`, `priority`): trimmed text, or None if absent.
fn read_pointer(path: &Path) -> Result<Option<String>, StoreError> {
    let bytes = match read_capped(path, 64) {
        Ok(b) => b,
        Err(StoreError::TooLarge { .. }) => {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                reason: "file too long".to_string(),
            });
        }
        Err(e) => return Err(e),
    };
    match bytes {
        None => Ok(None),
        Some(b) => match String::from_utf8(b) {
            Ok(s) => Ok(Some(s.trim().to_string())),
            Err(_) => Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                reason: "not UTF-8".to_string(),
            }),
        },
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `data` to `dir/name` atomically and durably: temp file, write_all,
/// sync_all, rename, fsync of `dir`.
fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> Result<(), StoreError> {
    let tmp = dir.join(format!(
        "{TMP_PREFIX}{}-{}-{name}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        f.write_all(data).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        let target = dir.join(name);
        fs::rename(&tmp, &target).map_err(io_err(&target))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir)
}

/// Removes `.tmp-*` files directly in `dir` (a crash's leftovers).
fn clean_temps(dir: &Path) -> Result<(), StoreError> {
    let mut removed = false;
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let path = entry.path();
            match fs::remove_file(&path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok(())
}

/// The valid owner names under `dir` (directories only), sorted.
fn list_owners(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if valid_name(&name) && entry.file_type().map_err(io_err(dir))?.is_dir() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Scripts under one directory, each version a file, with an `active` pointer.
#[derive(Debug)]
pub struct ScriptStore {
    dir: PathBuf,
    /// Serializes writers (version numbering, pointer updates).
    write_lock: Mutex<()>,
}

impl ScriptStore {
    /// Opens (creating `dir`, `dir/customers` and `dir/global` if missing) and
    /// removes temp files a crash left behind.
    pub fn open(dir: &Path) -> Result<ScriptStore, StoreError> {
        for sub in [CUSTOMERS, GLOBAL] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(io_err(&d))?;
        }
        sync_dir(dir)?;
        clean_temps(dir)?;
        for sub in [CUSTOMERS, GLOBAL] {
            let d = dir.join(sub);
            clean_temps(&d)?;
            for owner in list_owners(&d)? {
                clean_temps(&d.join(owner))?;
            }
        }
        Ok(ScriptStore {
            dir: dir.to_path_buf(),
            write_lock: Mutex::new(()),
        })
    }

    /// The store's root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn owner_dir(&self, o: Owner) -> Result<PathBuf, StoreError> {
        let id = o.id();
        if !valid_name(id) {
            return Err(StoreError::BadName(id.to_string()));
        }
        Ok(self.dir.join(o.name()).join(id))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates the owner's directory if needed (durably).
    fn ensure_owner_dir(&self, o: Owner) -> Result<PathBuf, StoreError> {
        let d = self.owner_dir(o)?;
        if !d.is_dir() {
            fs::create_dir_all(&d).map_err(io_err(&d))?;
            sync_dir(&self.dir.join(o.name()))?;
        }
        Ok(d)
    }

    /// Every version file in `d`, sorted by version; two files for one number is corrupt.
    fn scan(d: &Path) -> Result<Vec<(u32, Lang, PathBuf)>, StoreError> {
        let entries = match fs::read_dir(d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(d)(e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err(d))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if let Some((v, lang)) = parse_version_file(&name) {
                found.push((v, lang, entry.path()));
            }
        }
        found.sort_by_key(|(v, _, _)| *v);
        if let Some(w) = found.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(StoreError::Corrupt {
                path: w[1].2.clone(),
                reason: format!("two files for version {}", w[0].0),
            });
        }
        Ok(found)
    }

    /// The version file for `version`, if any.
    fn find(d: &Path, version: u32) -> Result<Option<(Lang, PathBuf)>, StoreError> {
        if version == 0 || version > MAX_VERSIONS {
            return Ok(None);
        }
        let mut hit = None;
        for lang in [Lang::Lua, Lang::Js] {
            let p = d.join(version_file(version, lang));
            if p.is_file() {
                if hit.is_some() {
                    return Err(StoreError::Corrupt {
                        path: p,
                        reason: format!("two files for version {version}"),
                    });
                }
                hit = Some((lang, p));
            }
        }
        Ok(hit)
    }

    /// The version the `active` pointer names, if any (not checked to exist).
    fn active_version(d: &Path) -> Result<Option<u32>, StoreError> {
        let path = d.join(ACTIVE);
        match read_pointer(&path)? {
            None => Ok(None),
            Some(text) => match text.parse::<u32>() {
                Ok(v) if (1..=MAX_VERSIONS).contains(&v) => Ok(Some(v)),
                _ => Err(StoreError::Corrupt {
                    path,
                    reason: format!("not a version number: {text:?}"),
                }),
            },
        }
    }

    /// Stores `source` durably as the owner's next version (not activated);
    /// returns its number.
    pub fn put(&self, o: Owner, lang: Lang, source: &str) -> Result<u32, StoreError> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(StoreError::TooLarge {
                bytes: source.len() as u64,
            });
        }
        self.owner_dir(o)?;
        let _guard = self.lock();
        let d = self.ensure_owner_dir(o)?;
        let next = Self::scan(&d)?.last().map_or(1, |(v, _, _)| v + 1);
        if next > MAX_VERSIONS {
            return Err(StoreError::TooMany);
        }
        write_atomic(&d, &version_file(next, lang), source.as_bytes())?;
        Ok(next)
    }

    /// Points the owner's `active` pointer at `version` (activation or rollback).
    pub fn activate(&self, o: Owner, version: u32) -> Result<(), StoreError> {
        let d = self.owner_dir(o)?;
        let _guard = self.lock();
        if Self::find(&d, version)?.is_none() {
            return Err(StoreError::NoSuchVersion(version));
        }
        write_atomic(&d, ACTIVE, format!("{version}\n").as_bytes())
    }

    /// The active version with its source; `None` when nothing is active. A
    /// pointer at a missing version is `Corrupt`.
    pub fn active(&self, o: Owner) -> Result<Option<Stored>, StoreError> {
        let d = self.owner_dir(o)?;
        let Some(version) = Self::active_version(&d)? else {
            return Ok(None);
        };
        match self.get(o, version) {
            Err(StoreError::NoSuchVersion(v)) => Err(StoreError::Corrupt {
                path: d.join(ACTIVE),
                reason: format!("points at missing version {v}"),
            }),
            other => other.map(Some),
        }
    }

    /// One version with its source.
    pub fn get(&self, o: Owner, version: u32) -> Result<Stored, StoreError> {
        let d = self.owner_dir(o)?;
        let Some((lang, path)) = Self::find(&d, version)? else {
            return Err(StoreError::NoSuchVersion(version));
        };
        let Some(bytes) = read_capped(&path, MAX_SOURCE_BYTES)? else {
            return Err(StoreError::NoSuchVersion(version));
        };
        let source = String::from_utf8(bytes).map_err(|_| StoreError::Corrupt {
            path: path.clone(),
            reason: "not UTF-8".to_string(),
        })?;
        Ok(Stored {
            version,
            lang,
            source,
            path,
        })
    }

    /// Every stored version, oldest first (empty for an unknown owner).
    pub fn versions(&self, o: Owner) -> Result<Vec<VersionInfo>, StoreError> {
        let d = self.owner_dir(o)?;
        let active = Self::active_version(&d)?;
        let mut out = Vec::new();
        for (version, lang, path) in Self::scan(&d)? {
            let meta = fs::metadata(&path).map_err(io_err(&path))?;
            let created_unix_ms = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            out.push(VersionInfo {
                version,
                lang,
                bytes: meta.len(),
                created_unix_ms,
                active: active == Some(version),
            });
        }
        Ok(out)
    }

    /// Removes the `active` pointer (versions stay); `false` if none was active.
    pub fn deactivate(&self, o: Owner) -> Result<bool, StoreError> {
        let d = self.owner_dir(o)?;
        let _guard = self.lock();
        let path = d.join(ACTIVE);
        match fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&d)?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Stores a global script's priority durably.
    pub fn set_priority(&self, name: &str, p: Priority) -> Result<(), StoreError> {
        let o = Owner::Global(name);
        self.owner_dir(o)?;
        let _guard = self.lock();
        let d = self.ensure_owner_dir(o)?;
        write_atomic(&d, PRIORITY, format!("{}\n", p.as_str()).as_bytes())
    }

    /// A global script's stored priority; `None` if never set.
    pub fn priority(&self, name: &str) -> Result<Option<Priority>, StoreError> {
        let path = self.owner_dir(Owner::Global(name))?.join(PRIORITY);
        match read_pointer(&path)?.as_deref() {
            None => Ok(None),
            Some("first") => Ok(Some(Priority::First)),
            Some("last") => Ok(Some(Priority::Last)),
            Some("disabled") => Ok(Some(Priority::Disabled)),
            Some(other) => Err(StoreError::Corrupt {
                path,
                reason: format!("unknown priority {other:?}"),
            }),
        }
    }

    /// Every customer id and global script name that has a directory, sorted.
    pub fn owners(&self) -> Result<(Vec<String>, Vec<String>), StoreError> {
        Ok((
            list_owners(&self.dir.join(CUSTOMERS))?,
            list_owners(&self.dir.join(GLOBAL))?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ScriptStore) {
        let tmp = tempfile::tempdir().unwrap();
        let s = ScriptStore::open(&tmp.path().join("scripts")).unwrap();
        (tmp, s)
    }

    const ACME: Owner<'static> = Owner::Customer("acme");

    #[test]
    fn round_trip_activate_rollback_deactivate() {
        let (_t, s) = store();
        assert!(s.active(ACME).unwrap().is_none());
        assert!(s.versions(ACME).unwrap().is_empty());
        assert_eq!(s.put(ACME, Lang::Lua, "-- one").unwrap(), 1);
        assert_eq!(s.put(ACME, Lang::Js, "// two").unwrap(), 2);
        // put does not activate.
        assert!(s.active(ACME).unwrap().is_none());
        s.activate(ACME, 2).unwrap();
        let a = s.active(ACME).unwrap().unwrap();
        assert_eq!(
            (a.version, a.lang, a.source.as_str()),
            (2, Lang::Js, "// two")
        );
        assert!(
            a.path.ends_with("customers/acme/v000002.js"),
            "{:?}",
            a.path
        );
        let g = s.get(ACME, 1).unwrap();
        assert_eq!(
            (g.version, g.lang, g.source.as_str()),
            (1, Lang::Lua, "-- one")
        );
        let v = s.versions(ACME).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].version, v[0].lang, v[0].bytes, v[0].active),
            (1, Lang::Lua, 6, false)
        );
        assert_eq!(
            (v[1].version, v[1].lang, v[1].bytes, v[1].active),
            (2, Lang::Js, 6, true)
        );
        assert!(v[0].created_unix_ms > 0);
        // Rollback.
        s.activate(ACME, 1).unwrap();
        assert_eq!(s.active(ACME).unwrap().unwrap().version, 1);
        assert!(matches!(
            s.activate(ACME, 3),
            Err(StoreError::NoSuchVersion(3))
        ));
        assert!(matches!(
            s.activate(ACME, 0),
            Err(StoreError::NoSuchVersion(0))
        ));
        assert!(matches!(s.get(ACME, 9), Err(StoreError::NoSuchVersion(9))));
        assert_eq!(s.active(ACME).unwrap().unwrap().version, 1);
        // Deactivate keeps the versions; a new put continues the numbering.
        assert!(s.deactivate(ACME).unwrap());
        assert!(!s.deactivate(ACME).unwrap());
        assert!(s.active(ACME).unwrap().is_none());
        assert_eq!(s.versions(ACME).unwrap().len(), 2);
        assert!(s.versions(ACME).unwrap().iter().all(|v| !v.active));
        assert_eq!(s.put(ACME, Lang::Lua, "-- three").unwrap(), 3);
        // Owners are independent.
        assert_eq!(s.put(Owner::Global("acme"), Lang::Lua, "x").unwrap(), 1);
        assert_eq!(s.put(Owner::Customer("other"), Lang::Lua, "y").unwrap(), 1);
        assert!(s.active(Owner::Global("acme")).unwrap().is_none());
        let (c, g) = s.owners().unwrap();
        assert_eq!(c, ["acme", "other"]);
        assert_eq!(g, ["acme"]);
    }

    #[test]
    fn reopen_keeps_everything() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let s = ScriptStore::open(tmp.path()).unwrap();
            s.put(ACME, Lang::Lua, "-- one").unwrap();
            s.put(ACME, Lang::Js, "// two").unwrap();
            s.activate(ACME, 1).unwrap();
            s.put(Owner::Global("g1"), Lang::Js, "// g").unwrap();
            s.activate(Owner::Global("g1"), 1).unwrap();
            s.set_priority("g1", Priority::Last).unwrap();
        }
        let s = ScriptStore::open(tmp.path()).unwrap();
        let a = s.active(ACME).unwrap().unwrap();
        assert_eq!((a.version, a.source.as_str()), (1, "-- one"));
        assert_eq!(s.get(ACME, 2).unwrap().source, "// two");
        assert_eq!(s.versions(ACME).unwrap().len(), 2);
        assert_eq!(s.put(ACME, Lang::Lua, "-- three").unwrap(), 3);
        let g = s.active(Owner::Global("g1")).unwrap().unwrap();
        assert_eq!((g.lang, g.source.as_str()), (Lang::Js, "// g"));
        assert_eq!(s.priority("g1").unwrap(), Some(Priority::Last));
    }

    #[test]
    fn crash_leftovers_ignored_and_cleaned() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("customers/acme");
        let s = ScriptStore::open(tmp.path()).unwrap();
        s.put(ACME, Lang::Lua, "-- one").unwrap();
        s.activate(ACME, 1).unwrap();
        // A crash mid-upload: a half-written version never renamed, a
        // half-written pointer update, a temp in a parent directory.
        let half = d.join(".tmp-999-0-v000002.lua");
        fs::write(&half, "-- two, half wri").unwrap();
        let half_ptr = d.join(".tmp-999-1-active");
        fs::write(&half_ptr, "2").unwrap();
        let parent_tmp = tmp.path().join("customers/.tmp-1-2-x");
        fs::write(&parent_tmp, "junk").unwrap();
        // A stray non-temp file is ignored but left alone.
        let stray = d.join("v000003.lua.bak");
        fs::write(&stray, "stray").unwrap();
        // Readers ignore them even before a restart.
        let check = |s: &ScriptStore, n: u32| {
            let v = s.versions(ACME).unwrap();
            assert_eq!(
                v.iter().map(|v| v.version).collect::<Vec<_>>(),
                (1..=n).collect::<Vec<_>>()
            );
            assert_eq!(s.active(ACME).unwrap().unwrap().version, 1);
            assert_eq!(s.owners().unwrap().0, ["acme"]);
        };
        check(&s, 1);
        drop(s);
        // Restart: temps are removed, the stray file stays, numbering goes on.
        let s = ScriptStore::open(tmp.path()).unwrap();
        assert!(!half.exists() && !half_ptr.exists() && !parent_tmp.exists());
        assert!(stray.exists());
        check(&s, 1);
        assert_eq!(s.put(ACME, Lang::Lua, "-- two").unwrap(), 2);
        assert_eq!(s.get(ACME, 2).unwrap().source, "-- two");
        check(&s, 2);
        // No temp file of our own is left behind.
        let temps = fs::read_dir(&d)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with(TMP_PREFIX)
            })
            .count();
        assert_eq!(temps, 0);
    }

    #[test]
    fn bad_names_refused() {
        let (tmp, s) = store();
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "a b",
            "é",
            "x\0",
            &"a".repeat(65),
        ] {
            assert!(!valid_name(bad), "{bad:?}");
            for o in [Owner::Customer(bad), Owner::Global(bad)] {
                assert!(matches!(
                    s.put(o, Lang::Lua, "x"),
                    Err(StoreError::BadName(_))
                ));
                assert!(matches!(s.activate(o, 1), Err(StoreError::BadName(_))));
                assert!(matches!(s.active(o), Err(StoreError::BadName(_))));
                assert!(matches!(s.get(o, 1), Err(StoreError::BadName(_))));
                assert!(matches!(s.versions(o), Err(StoreError::BadName(_))));
                assert!(matches!(s.deactivate(o), Err(StoreError::BadName(_))));
            }
            assert!(matches!(
                s.set_priority(bad, Priority::First),
                Err(StoreError::BadName(_))
            ));
            assert!(matches!(s.priority(bad), Err(StoreError::BadName(_))));
        }
        for good in ["a", "A-z_0.9", "..a", &"a".repeat(64)] {
            assert!(valid_name(good), "{good:?}");
        }
        // Nothing was created outside the store.
        let mut top: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        top.sort();
        assert_eq!(top, ["scripts"]);
    }

    #[test]
    fn concurrent_puts_get_distinct_versions() {
        let (_t, s) = store();
        let mut got: Vec<u32> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let s = &s;
                    scope.spawn(move || s.put(ACME, Lang::Lua, &format!("-- {i}")).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        got.sort_unstable();
        assert_eq!(got, (1..=8).collect::<Vec<_>>());
        // Each version holds exactly one of the uploads.
        let mut sources: Vec<String> = (1..=8).map(|v| s.get(ACME, v).unwrap().source).collect();
        sources.sort();
        let mut want: Vec<String> = (0..8).map(|i| format!("-- {i}")).collect();
        want.sort();
        assert_eq!(sources, want);
    }

    #[test]
    fn priority_round_trip() {
        let (_t, s) = store();
        assert_eq!(s.priority("g").unwrap(), None);
        for p in [Priority::First, Priority::Disabled, Priority::Last] {
            s.set_priority("g", p).unwrap();
            assert_eq!(s.priority("g").unwrap(), Some(p));
        }
        assert_eq!(s.owners().unwrap().1, ["g"]);
        fs::write(s.dir().join("global/g/priority"), "sometimes\n").unwrap();
        assert!(matches!(s.priority("g"), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn corrupt_files_are_errors_not_panics() {
        let (_t, s) = store();
        s.put(ACME, Lang::Lua, "-- one").unwrap();
        let d = s.dir().join("customers/acme");
        // Pointer at a missing version.
        fs::write(d.join(ACTIVE), "7\n").unwrap();
        match s.active(ACME) {
            Err(StoreError::Corrupt { reason, .. }) => assert!(reason.contains('7'), "{reason}"),
            other => panic!("{other:?}"),
        }
        // Garbage pointers.
        for junk in ["seven", "0", "-1", "99999999999", "", &"1".repeat(100)] {
            fs::write(d.join(ACTIVE), junk).unwrap();
            assert!(
                matches!(s.active(ACME), Err(StoreError::Corrupt { .. })),
                "{junk:?}"
            );
        }
        // Repair by activating.
        s.activate(ACME, 1).unwrap();
        assert_eq!(s.active(ACME).unwrap().unwrap().version, 1);
        // Non-UTF-8 source; two files for one version.
        fs::write(d.join("v000002.lua"), [0xff, 0xfe]).unwrap();
        assert!(matches!(s.get(ACME, 2), Err(StoreError::Corrupt { .. })));
        fs::write(d.join("v000002.js"), "x").unwrap();
        assert!(matches!(s.get(ACME, 2), Err(StoreError::Corrupt { .. })));
        assert!(matches!(s.versions(ACME), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn caps() {
        let (_t, s) = store();
        let big = "x".repeat(MAX_SOURCE_BYTES + 1);
        assert!(matches!(
            s.put(ACME, Lang::Lua, &big),
            Err(StoreError::TooLarge { .. })
        ));
        assert!(s.versions(ACME).unwrap().is_empty());
        // An oversized file on disk is refused on read, not loaded whole.
        s.put(ACME, Lang::Lua, "-- one").unwrap();
        fs::write(s.dir().join("customers/acme/v000002.lua"), &big).unwrap();
        assert!(matches!(s.get(ACME, 2), Err(StoreError::TooLarge { .. })));
        // The version cap: pretend the last allowed number is taken.
        fs::write(
            s.dir().join(format!(
                "customers/acme/{}",
                version_file(MAX_VERSIONS, Lang::Lua)
            )),
            "-- last",
        )
        .unwrap();
        assert!(matches!(
            s.put(ACME, Lang::Lua, "x"),
            Err(StoreError::TooMany)
        ));
        assert_eq!(s.get(ACME, MAX_VERSIONS).unwrap().source, "-- last");
    }
}
