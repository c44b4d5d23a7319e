//! Process-level concerns of `jobber serve`: the data dir and its lock, and dropping
//! root privileges after the ports are bound (PostgreSQL refuses to run as root).

use std::fs::File;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid, User, chown};

/// The exclusive lock a serving process holds on its data dir; a second `jobber serve`
/// on the same directory fails fast instead of sharing the database files.
pub struct DataDirLock {
    _lock: Flock<File>,
    path: PathBuf,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<Self> {
        let path = super::datadir::DataDir::new(data_dir).lock();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
            anyhow::anyhow!(
                "another jobber is already using the data dir {} ({errno}); stop it first or pass another --data-dir",
                data_dir.display()
            )
        })?;
        Ok(Self { _lock: lock, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The unprivileged account to run as when started as root.
pub struct RunAs {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
}

/// Who to become, when running as root: the configured user, else `nobody` (warned).
pub fn resolve_run_as(user: &str) -> anyhow::Result<Option<RunAs>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let found = User::from_name(user).context("cannot read the user database")?;
    let (account, fallback) = match found {
        Some(account) => (account, false),
        None => match User::from_name("nobody").context("cannot read the user database")? {
            Some(nobody) => (nobody, true),
            None => bail!(
                "user {user:?} does not exist and there is no `nobody` user; create one or pass --user"
            ),
        },
    };
    if account.uid.is_root() {
        bail!("--user {user:?} is root; PostgreSQL and jobber must run unprivileged");
    }
    if fallback {
        eprintln!(
            "warning: user {user:?} does not exist; running as `nobody` (create a `{user}` user or pass --user)"
        );
    }
    Ok(Some(RunAs {
        name: account.name,
        uid: account.uid,
        gid: account.gid,
    }))
}

/// Create the data dir (0700) and, when running as root, hand it over to `run_as`.
pub fn prepare_data_dir(data_dir: &Path, run_as: Option<&RunAs>) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot set permissions on {}", data_dir.display()))?;
    if let Some(run_as) = run_as {
        chown_tree(data_dir, run_as.uid, run_as.gid)?;
        if !reachable_by(data_dir, run_as.uid, run_as.gid) {
            bail!(
                "the data dir {} is inside a directory that user {} cannot enter; choose another --data-dir (such as /var/lib/jobber)",
                data_dir.display(),
                run_as.name
            );
        }
    }
    let probe = super::datadir::DataDir::new(data_dir).write_probe();
    std::fs::write(&probe, b"ok")
        .with_context(|| format!("data dir {} is not writable", data_dir.display()))?;
    std::fs::remove_file(&probe)?;
    Ok(())
}

fn chown_tree(path: &Path, uid: Uid, gid: Gid) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    chown(path, Some(uid), Some(gid))
        .with_context(|| format!("cannot chown {}", path.display()))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// Whether every ancestor of `dir` lets `uid` through (the execute bit that applies).
fn reachable_by(dir: &Path, uid: Uid, gid: Gid) -> bool {
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    dir.ancestors().skip(1).all(|ancestor| {
        let Ok(meta) = std::fs::metadata(ancestor) else {
            return false;
        };
        use std::os::unix::fs::MetadataExt;
        let mode = meta.mode();
        if meta.uid() == uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    })
}

/// Become `run_as` for good: supplementary groups, group, then user.
pub fn drop_privileges(run_as: &RunAs) -> anyhow::Result<()> {
    nix::unistd::setgroups(&[run_as.gid]).context("setgroups")?;
    nix::unistd::setgid(run_as.gid).context("setgid")?;
    nix::unistd::setuid(run_as.uid).context("setuid")?;
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        bail!("privileges were not dropped");
    }
    Ok(())
}

/// Raise this process's open-file limit to its hard limit: every connection, pooled
/// database connection and open file takes a descriptor, and the usual soft limit of
/// 1024 is reached by a thousand idle clients. Returns the limit now in force.
pub fn raise_fd_limit() -> anyhow::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("cannot read RLIMIT_NOFILE")?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).context("cannot raise RLIMIT_NOFILE")?;
    }
    Ok(hard.max(soft))
}

/// A test-only crash point: when `JOBBER_FAILPOINTS` (comma-separated) names `name`,
/// the process aborts here, as a `kill -9` would stop it. Tests use it to prove that
/// what was committed before this point survives and is answered for on a retry.
pub fn failpoint(name: &str) {
    static ARMED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let armed = ARMED.get_or_init(|| {
        std::env::var("JOBBER_FAILPOINTS")
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default()
    });
    if armed.iter().any(|a| a == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
