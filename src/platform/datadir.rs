//! The data dir's layout: every file and folder jobber keeps under `--data-dir`, named
//! here and nowhere else. The server asks [`DataDir`] for a path; docs/operations.md's
//! table is checked against [`ENTRIES`] by a test, so a new file cannot appear without
//! its line (what it is, whether to back it up).
//!
//! This module only names paths; it creates and reads nothing.

use std::path::{Path, PathBuf};

/// Whether an entry is a file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// What a copy of the data dir must do with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backup {
    /// Losing it loses data or makes stored data unreadable.
    Keep,
    /// Rebuilt or recreated by jobber: copying it is harmless but useless.
    Skip,
}

/// One file or folder of the data dir.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Path relative to the data dir, `/`-separated.
    pub name: &'static str,
    pub kind: Kind,
    pub backup: Backup,
    /// One line for operators (docs/operations.md repeats it).
    pub about: &'static str,
}

const LOCK: &str = "jobber.lock";
const WRITE_PROBE: &str = ".write-test";
const JWT_KEY: &str = "jwt.key";
const ENCRYPTION_KEY: &str = "encryption.key";
const ADMIN_TOKEN: &str = "admin.token";
const ACME: &str = "acme";
const ACME_ACCOUNT: &str = "acme/account.json";
const ACME_CERTIFICATE: &str = "acme/certificate.pem";
const ACME_KEY: &str = "acme/certificate.key";
const POSTGRES: &str = "postgres";
const POSTGRES_START_LOG: &str = "postgres/start.log";
const POSTGRES_PASSWORD: &str = "postgres.password";
const PG_INSTALL: &str = "pg-install";
const RUN: &str = "run";
const FILES: &str = "files";
const LOGS: &str = "logs";
const TMP: &str = "tmp";

/// Every entry, in the order docs/operations.md lists them.
pub const ENTRIES: &[Entry] = &[
    Entry {
        name: POSTGRES,
        kind: Kind::Dir,
        backup: Backup::Keep,
        about: "the embedded PostgreSQL's data (copy it only while jobber is stopped; otherwise `pg_dump`)",
    },
    Entry {
        name: POSTGRES_START_LOG,
        kind: Kind::File,
        backup: Backup::Skip,
        about: "the embedded PostgreSQL's own log, read when it fails to start",
    },
    Entry {
        name: POSTGRES_PASSWORD,
        kind: Kind::File,
        backup: Backup::Keep,
        about: "the embedded PostgreSQL superuser's password (mode 0600)",
    },
    Entry {
        name: JWT_KEY,
        kind: Kind::File,
        backup: Backup::Keep,
        about: "signing key of access tokens and of file download links, unless `jwt_secret` is set",
    },
    Entry {
        name: ENCRYPTION_KEY,
        kind: Kind::File,
        backup: Backup::Keep,
        about: "key of the stored Stripe and QuickBooks secrets, unless `encryption_key` is set; keep a copy apart from the database",
    },
    Entry {
        name: ADMIN_TOKEN,
        kind: Kind::File,
        backup: Backup::Skip,
        about: "token of the admin listener's status API (`jobber top`), generated on first start (0600); delete it and restart to change it",
    },
    Entry {
        name: ACME,
        kind: Kind::Dir,
        backup: Backup::Skip,
        about: "automatic certificates (`acme_domains`): made on first start and renewed by jobber; copy it when moving the server, to spare the CA's rate limits",
    },
    Entry {
        name: ACME_ACCOUNT,
        kind: Kind::File,
        backup: Backup::Skip,
        about: "the ACME account at the CA (`acme_directory`) and its private key (0600); a new account is made when it is missing or the directory changes",
    },
    Entry {
        name: ACME_CERTIFICATE,
        kind: Kind::File,
        backup: Backup::Skip,
        about: "the certificate chain in use (PEM, leaf first), replaced 30 days before it expires",
    },
    Entry {
        name: ACME_KEY,
        kind: Kind::File,
        backup: Backup::Skip,
        about: "the private key of `acme/certificate.pem` (0600), new with every certificate",
    },
    Entry {
        name: FILES,
        kind: Kind::Dir,
        backup: Backup::Keep,
        about: "the local file store (`uploads/…`: PDFs, photos, logos, exports), unless `storage_url` is set",
    },
    Entry {
        name: LOGS,
        kind: Kind::Dir,
        backup: Backup::Skip,
        about: "JSON logs, one file a day (`jobber.YYYY-MM-DD.log`), the last 14 kept",
    },
    Entry {
        name: TMP,
        kind: Kind::Dir,
        backup: Backup::Skip,
        about: "work files of `jobber backup` (dump, archives), removed when the command ends",
    },
    Entry {
        name: RUN,
        kind: Kind::Dir,
        backup: Backup::Skip,
        about: "the embedded PostgreSQL's Unix socket",
    },
    Entry {
        name: PG_INSTALL,
        kind: Kind::Dir,
        backup: Backup::Skip,
        about: "PostgreSQL downloaded on first start, only when the host has none",
    },
    Entry {
        name: LOCK,
        kind: Kind::File,
        backup: Backup::Skip,
        about: "held by the running `jobber serve`, so a second one on the same data dir stops",
    },
    Entry {
        name: WRITE_PROBE,
        kind: Kind::File,
        backup: Backup::Skip,
        about: "written and removed at start to check the data dir is writable",
    },
];

/// A data dir: its root and the path of each of its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn at(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn lock(&self) -> PathBuf {
        self.at(LOCK)
    }

    pub fn write_probe(&self) -> PathBuf {
        self.at(WRITE_PROBE)
    }

    pub fn jwt_key(&self) -> PathBuf {
        self.at(JWT_KEY)
    }

    pub fn encryption_key(&self) -> PathBuf {
        self.at(ENCRYPTION_KEY)
    }

    pub fn admin_token(&self) -> PathBuf {
        self.at(ADMIN_TOKEN)
    }

    pub fn acme(&self) -> PathBuf {
        self.at(ACME)
    }

    pub fn acme_account(&self) -> PathBuf {
        self.at(ACME_ACCOUNT)
    }

    pub fn acme_certificate(&self) -> PathBuf {
        self.at(ACME_CERTIFICATE)
    }

    pub fn acme_key(&self) -> PathBuf {
        self.at(ACME_KEY)
    }

    pub fn postgres(&self) -> PathBuf {
        self.at(POSTGRES)
    }

    pub fn postgres_start_log(&self) -> PathBuf {
        self.at(POSTGRES_START_LOG)
    }

    pub fn postgres_password(&self) -> PathBuf {
        self.at(POSTGRES_PASSWORD)
    }

    pub fn pg_install(&self) -> PathBuf {
        self.at(PG_INSTALL)
    }

    pub fn run(&self) -> PathBuf {
        self.at(RUN)
    }

    pub fn files(&self) -> PathBuf {
        self.at(FILES)
    }

    pub fn logs(&self) -> PathBuf {
        self.at(LOGS)
    }

    pub fn tmp(&self) -> PathBuf {
        self.at(TMP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path the type hands out is an entry, and every entry a path it hands out.
    #[test]
    fn entries_and_paths_agree() {
        let dir = DataDir::new("/d");
        let paths = [
            dir.lock(),
            dir.write_probe(),
            dir.jwt_key(),
            dir.encryption_key(),
            dir.admin_token(),
            dir.acme(),
            dir.acme_account(),
            dir.acme_certificate(),
            dir.acme_key(),
            dir.postgres(),
            dir.postgres_start_log(),
            dir.postgres_password(),
            dir.pg_install(),
            dir.run(),
            dir.files(),
            dir.logs(),
            dir.tmp(),
        ];
        let mut names: Vec<_> = ENTRIES.iter().map(|e| dir.at(e.name)).collect();
        let mut paths = paths.to_vec();
        names.sort();
        paths.sort();
        assert_eq!(names, paths);
    }

    /// docs/operations.md's "The data directory" table has one row per entry, in order, each
    /// saying whether to back it up and what it is; and no row names an unknown entry.
    #[test]
    fn operations_doc_lists_every_entry() {
        let doc = include_str!("../../docs/operations.md");
        let section = doc
            .split("\n## The data directory\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default();
        let rows: Vec<(String, String, String)> = section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                Some((
                    cells
                        .get(1)?
                        .trim_matches('`')
                        .trim_end_matches('/')
                        .to_string(),
                    cells.get(2)?.to_string(),
                    cells.get(3)?.to_string(),
                ))
            })
            .collect();
        let expected: Vec<(String, String, String)> = ENTRIES
            .iter()
            .map(|e| {
                let backup = match e.backup {
                    Backup::Keep => "yes",
                    Backup::Skip => "no",
                };
                (e.name.to_string(), backup.to_string(), e.about.to_string())
            })
            .collect();
        assert_eq!(
            rows, expected,
            "docs/operations.md, section \"The data directory\": one row per platform::datadir::ENTRIES \
             entry, in order: | `name` | yes/no | its `about` |"
        );
        for entry in ENTRIES {
            let shown = match entry.kind {
                Kind::Dir => format!("| `{}/` |", entry.name),
                Kind::File => format!("| `{}` |", entry.name),
            };
            assert!(section.contains(&shown), "{shown} (folders end in /)");
        }
    }
}
