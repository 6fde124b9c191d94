//! The file-system seam: every byte the storage engine reads or writes in the data dir goes
//! through [`FileSystem`].
//!
//! Owns: [`RealFs`] (std::fs, `fdatasync` via `File::sync_data`, directory fsync by opening the
//! directory) and [`SimFs`], an in-memory test file system that models what survives a power cut:
//! file bytes survive only up to the last `sync_data` of that file, and directory entries
//! (create, rename, remove) survive only once their parent directory was synced. `SimFs` also has
//! failpoints: fail the n-th write or fsync, or "freeze" the machine after n mutating operations
//! (every later mutation fails), which is how tests cut power at arbitrary points.
//!
//! Does not: buffer writes (callers build a whole frame or chunk and write it at once) or know
//! any file format.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

/// A file opened for appending or freshly created.
pub trait WritableFile: Send {
    /// Appends all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes the file's data durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
}

/// The operations the storage engine needs from a file system.
pub trait FileSystem: Send + Sync {
    /// Creates `path` and its missing parents, mode 0700.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// File names (not paths) of the regular files directly in `dir`.
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Opens for sequential reading (buffered).
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn Read + Send>>;
    /// Creates (mode 0600: every data-dir file is private) or truncates.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Opens an existing file for appending.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    fn len(&self, path: &Path) -> io::Result<u64>;
    /// Cuts the file to `len` bytes and makes that durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory entries of `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Reads a whole (small) file.
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut r = self.open_read(path)?;
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        Ok(v)
    }
}

/// Replaces `dir/name` atomically and durably: write `dir/name.tmp`, fsync it, rename it over
/// `dir/name`, fsync `dir`. A crash at any point leaves either the old or the new file.
pub fn write_atomic(fs: &dyn FileSystem, dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = fs.create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_data()?;
    drop(f);
    fs.rename(&tmp, &dir.join(name))?;
    fs.sync_dir(dir)
}

// ---------------------------------------------------------------------------------------------
// Real file system
// ---------------------------------------------------------------------------------------------

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

struct RealFile(File);

impl WritableFile for RealFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

impl FileSystem for RealFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        // The mode is given at creation (PostgreSQL's 0700), so no umask can widen it; a
        // directory that already exists keeps its mode (the server warns if it is open).
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir)? {
            let e = e?;
            if e.file_type()?.is_file() {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(BufReader::with_capacity(
            256 * 1024,
            File::open(path)?,
        )))
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        use std::os::unix::fs::OpenOptionsExt;
        // 0600 at creation: the umask can only narrow it. Every data-dir file is private (the
        // encrypted ones too: their names, sizes and times are metadata an attacker wants).
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        Ok(Box::new(RealFile(f)))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(RealFile(
            OpenOptions::new().append(true).open(path)?,
        )))
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.len())
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_data()
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

// ---------------------------------------------------------------------------------------------
// Simulated file system
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Inode {
    data: Vec<u8>,
    /// What a power cut leaves of `data`: the contents at the last `sync_data`.
    synced: Vec<u8>,
}

type InodeRef = Arc<Mutex<Inode>>;

#[derive(Default)]
struct SimState {
    /// The namespace as the running process sees it.
    live: BTreeMap<PathBuf, InodeRef>,
    /// The namespace a power cut leaves: updated per directory by `sync_dir`.
    durable: BTreeMap<PathBuf, InodeRef>,
    dirs: BTreeSet<PathBuf>,
    /// Mutating operations left before the machine "freezes" (`None`: never).
    freeze_after: Option<u64>,
    frozen: bool,
    /// Fail the n-th next write (1 = the next one); one-shot.
    fail_write_in: Option<u64>,
    /// Fail the n-th next `sync_data`; one-shot.
    fail_sync_in: Option<u64>,
    /// Counters for tests.
    syncs: u64,
}

/// In-memory file system that models power cuts and failpoints (see the module doc).
#[derive(Clone, Default)]
pub struct SimFs {
    st: Arc<Mutex<SimState>>,
}

/// Which operation a mutation is, for failpoints.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Write,
    Sync,
    Other,
}

fn sim_err(what: &str) -> io::Error {
    io::Error::other(format!("simulated failure: {what}"))
}

impl SimState {
    /// Accounts one mutating operation; errors if a failpoint fires or the machine is frozen.
    fn mutate(&mut self, op: Op) -> io::Result<()> {
        if self.frozen {
            return Err(sim_err("machine is down"));
        }
        if let Some(n) = self.freeze_after.as_mut() {
            if *n == 0 {
                self.frozen = true;
                return Err(sim_err("machine is down"));
            }
            *n -= 1;
        }
        let slot = match op {
            Op::Write => &mut self.fail_write_in,
            Op::Sync => &mut self.fail_sync_in,
            Op::Other => return Ok(()),
        };
        if let Some(n) = slot.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                *slot = None;
                return Err(sim_err(if op == Op::Write { "write" } else { "fsync" }));
            }
        }
        Ok(())
    }
}

struct SimFile {
    inode: InodeRef,
    st: Arc<Mutex<SimState>>,
}

impl WritableFile for SimFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.st.lock().mutate(Op::Write)?;
        self.inode.lock().data.extend_from_slice(buf);
        Ok(())
    }
    fn sync_data(&mut self) -> io::Result<()> {
        let mut st = self.st.lock();
        st.mutate(Op::Sync)?;
        st.syncs += 1;
        let mut ino = self.inode.lock();
        let Inode { data, synced } = &mut *ino;
        synced.clear();
        synced.extend_from_slice(data);
        Ok(())
    }
}

fn not_found(p: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", p.display()),
    )
}

impl SimFs {
    pub fn new() -> Self {
        Self::default()
    }

    /// After `n` more mutating operations every mutation fails, as if the machine lost power
    /// at that point; take the surviving state with [`SimFs::crash_image`].
    pub fn freeze_after(&self, n: u64) {
        self.st.lock().freeze_after = Some(n);
    }

    /// Is the simulated machine down?
    pub fn is_frozen(&self) -> bool {
        self.st.lock().frozen
    }

    /// Make the `n`-th next write fail (1 = the next).
    pub fn fail_write_in(&self, n: u64) {
        self.st.lock().fail_write_in = Some(n.max(1));
    }

    /// Make the `n`-th next `sync_data` fail (1 = the next).
    pub fn fail_sync_in(&self, n: u64) {
        self.st.lock().fail_sync_in = Some(n.max(1));
    }

    /// Number of successful `sync_data` calls so far.
    pub fn sync_count(&self) -> u64 {
        self.st.lock().syncs
    }

    /// The file system a power cut right now would leave: only synced bytes of durably named
    /// files. With `torn_seed`, each file also keeps a pseudo-random prefix of its unsynced
    /// appended bytes (a torn write), as real disks may.
    pub fn crash_image(&self, torn_seed: Option<u64>) -> SimFs {
        let st = self.st.lock();
        let mut seed = torn_seed.unwrap_or(0).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut out = SimState {
            dirs: st.dirs.clone(),
            ..SimState::default()
        };
        for (p, ino) in &st.durable {
            let ino = ino.lock();
            let mut data = ino.synced.clone();
            if torn_seed.is_some() && ino.data.len() > data.len() && ino.data.starts_with(&data) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let extra = ino.data.len() - data.len();
                let keep = (seed % (extra as u64 + 1)) as usize;
                if let Some(tail) = ino.data.get(data.len()..data.len() + keep) {
                    data.extend_from_slice(tail);
                }
            }
            let new = Arc::new(Mutex::new(Inode {
                synced: data.clone(),
                data,
            }));
            out.live.insert(p.clone(), new.clone());
            out.durable.insert(p.clone(), new);
        }
        SimFs {
            st: Arc::new(Mutex::new(out)),
        }
    }

    /// Test helper: the current (live) contents of a file.
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        self.st.lock().live.get(path).map(|i| i.lock().data.clone())
    }

    /// Test helper: overwrite the live contents of a file (durably).
    pub fn set_contents(&self, path: &Path, data: Vec<u8>) {
        let mut st = self.st.lock();
        let ino = Arc::new(Mutex::new(Inode {
            synced: data.clone(),
            data,
        }));
        st.live.insert(path.to_path_buf(), ino.clone());
        st.durable.insert(path.to_path_buf(), ino);
    }

    /// Test helper: every live file path.
    pub fn files(&self) -> Vec<PathBuf> {
        self.st.lock().live.keys().cloned().collect()
    }
}

impl FileSystem for SimFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut st = self.st.lock();
        for a in path.ancestors() {
            st.dirs.insert(a.to_path_buf());
        }
        Ok(())
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        let st = self.st.lock();
        Ok(st.live.contains_key(path) || st.dirs.contains(path))
    }
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let st = self.st.lock();
        if !st.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        Ok(st
            .live
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn Read + Send>> {
        let st = self.st.lock();
        let ino = st.live.get(path).ok_or_else(|| not_found(path))?;
        let data = ino.lock().data.clone();
        Ok(Box::new(Cursor::new(data)))
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let mut st = self.st.lock();
        st.mutate(Op::Other)?;
        if let Some(parent) = path.parent() {
            if !st.dirs.contains(parent) {
                return Err(not_found(parent));
            }
        }
        let ino = match st.live.get(path) {
            Some(ino) => {
                ino.lock().data.clear();
                ino.clone()
            }
            None => {
                let ino: InodeRef = Arc::default();
                st.live.insert(path.to_path_buf(), ino.clone());
                ino
            }
        };
        Ok(Box::new(SimFile {
            inode: ino,
            st: self.st.clone(),
        }))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let st = self.st.lock();
        let ino = st.live.get(path).ok_or_else(|| not_found(path))?.clone();
        Ok(Box::new(SimFile {
            inode: ino,
            st: self.st.clone(),
        }))
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        let st = self.st.lock();
        let ino = st.live.get(path).ok_or_else(|| not_found(path))?;
        let n = ino.lock().data.len();
        Ok(n as u64)
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut st = self.st.lock();
        st.mutate(Op::Sync)?;
        let ino = st.live.get(path).ok_or_else(|| not_found(path))?;
        let mut ino = ino.lock();
        let len = usize::try_from(len).map_err(io::Error::other)?;
        ino.data.truncate(len);
        let Inode { data, synced } = &mut *ino;
        synced.clear();
        synced.extend_from_slice(data);
        Ok(())
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.st.lock();
        st.mutate(Op::Other)?;
        let ino = st.live.remove(from).ok_or_else(|| not_found(from))?;
        st.live.insert(to.to_path_buf(), ino);
        Ok(())
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut st = self.st.lock();
        st.mutate(Op::Other)?;
        st.live.remove(path).ok_or_else(|| not_found(path))?;
        Ok(())
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.st.lock();
        st.mutate(Op::Sync)?;
        let st = &mut *st;
        st.durable.retain(|p, _| p.parent() != Some(dir));
        for (p, ino) in &st.live {
            if p.parent() == Some(dir) {
                st.durable.insert(p.clone(), ino.clone());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_cut_drops_unsynced_bytes_and_unsynced_renames() {
        let fs = SimFs::new();
        let d = Path::new("/d");
        fs.create_dir_all(d).unwrap();
        let mut f = fs.create(&d.join("a")).unwrap();
        f.write_all(b"hello").unwrap();
        f.sync_data().unwrap();
        fs.sync_dir(d).unwrap();
        f.write_all(b" world").unwrap();
        fs.rename(&d.join("a"), &d.join("b")).unwrap();
        let img = fs.crash_image(None);
        assert_eq!(img.contents(&d.join("a")).unwrap(), b"hello");
        assert!(img.contents(&d.join("b")).is_none());
        fs.sync_dir(d).unwrap();
        let img = fs.crash_image(None);
        assert_eq!(img.contents(&d.join("b")).unwrap(), b"hello");
        assert!(img.contents(&d.join("a")).is_none());
    }

    #[test]
    fn failpoint_fails_the_chosen_fsync_once() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let mut f = fs.create(Path::new("/d/x")).unwrap();
        fs.fail_sync_in(2);
        f.sync_data().unwrap();
        assert!(f.sync_data().is_err());
        f.sync_data().unwrap();
    }
}
