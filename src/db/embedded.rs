//! An embedded PostgreSQL cluster, run from the server binaries installed on the machine.
//!
//! Quorum uses it when no `DATABASE_URL` is given: `initdb` once, then `pg_ctl start` on a
//! Unix socket in a private directory (no TCP port), and `pg_ctl stop` when Quorum stops.
//! PostgreSQL refuses to run as root, so when Quorum runs as root the cluster runs as the
//! `postgres` system user.

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::Digest;
use sqlx::postgres::PgConnectOptions;

/// The cluster's socket file is `<socket dir>/.s.PGSQL.<port>`; the port only names it.
const SOCKET_PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH: usize = 107;
/// The superuser `initdb` creates; it owns Quorum's database and runs the migrations.
pub const SUPERUSER: &str = "postgres";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "Quorum needs PostgreSQL and found neither a DATABASE_URL nor the PostgreSQL server \
         programs. Either set DATABASE_URL to a PostgreSQL database Quorum may own (for \
         example postgres://quorum:secret@db.example.org/quorum), or install the PostgreSQL \
         server binaries so that Quorum can run its own cluster in its data directory: on \
         Debian or Ubuntu `apt-get install postgresql`, on Fedora `dnf install \
         postgresql-server`, on macOS `brew install postgresql`. Quorum looks for `initdb` \
         and `pg_ctl` in PATH and in /usr/lib/postgresql/*/bin."
    )]
    BinariesNotFound,
    #[error(
        "Quorum runs as root, and PostgreSQL refuses to; it needs the `postgres` system user \
         to run the embedded cluster, and there is none. Create it (e.g. `adduser --system \
         --group postgres`) or set DATABASE_URL."
    )]
    NoPostgresUser,
    #[error("the socket path {0} is too long for a Unix socket; choose a shorter QUORUM_DATA_DIR")]
    SocketPathTooLong(PathBuf),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed: {detail}")]
    CommandFailed { command: String, detail: String },
}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    let context = context.into();
    move |source| EmbeddedError::Io { context, source }
}

/// Tuning for throwaway clusters (tests): durability is traded for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Throwaway,
}

/// Where a root-run Quorum keeps clusters the `postgres` user could not reach otherwise.
const FALLBACK_ROOT: &str = "/var/lib/quorum";

/// The system user the cluster's processes run as, when it differs from ours.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
}

impl RunAs {
    /// Whether this user may enter `dir` (every directory above it included).
    fn can_enter(&self, dir: &Path) -> bool {
        Command::new("/bin/sh")
            .args(["-c", "cd \"$0\""])
            .arg(dir)
            .current_dir("/")
            .uid(self.uid.as_raw())
            .gid(self.gid.as_raw())
            .output()
            .is_ok_and(|output| output.status.success())
    }
}

/// A running embedded cluster. Dropping it stops the server if this value started it.
#[derive(Debug)]
pub struct EmbeddedCluster {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<RunAs>,
    started_here: bool,
}

impl EmbeddedCluster {
    /// Starts (creating it on first use) the cluster kept under `root`.
    pub fn start(root: &Path, durability: Durability) -> Result<Self, EmbeddedError> {
        let bin_dir = find_server_binaries().ok_or(EmbeddedError::BinariesNotFound)?;
        let run_as = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name(SUPERUSER)
                .ok()
                .flatten()
                .ok_or(EmbeddedError::NoPostgresUser)?;
            Some(RunAs {
                uid: user.uid,
                gid: user.gid,
            })
        } else {
            None
        };

        fs::create_dir_all(root).map_err(io_error(format!("cannot create {}", root.display())))?;
        let mut root = root
            .canonicalize()
            .map_err(io_error(format!("cannot resolve {}", root.display())))?;
        if let Some(run_as) = run_as
            && !run_as.can_enter(root.parent().unwrap_or(Path::new("/")))
        {
            // E.g. a checkout under /root: the postgres user cannot reach it, so the
            // cluster lives where it can, named after the data directory it belongs to.
            let fallback = Path::new(FALLBACK_ROOT).join(hex::encode(
                &sha2::Sha256::digest(root.as_os_str().as_encoded_bytes())[..8],
            ));
            tracing::warn!(
                data_dir = %root.display(),
                cluster = %fallback.display(),
                "the postgres user cannot reach the data directory; keeping the cluster elsewhere"
            );
            fs::create_dir_all(&fallback)
                .map_err(io_error(format!("cannot create {}", fallback.display())))?;
            root = fallback;
        }
        let cluster = Self {
            bin_dir,
            pgdata: root.join("pgdata"),
            socket_dir: root.join("run"),
            run_as,
            started_here: false,
        };
        let socket_path = cluster.socket_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"));
        if socket_path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(EmbeddedError::SocketPathTooLong(socket_path));
        }
        // Only the cluster's owner may reach the socket: that is what makes `trust`
        // authentication on it safe.
        cluster.make_private_dir(&root)?;
        cluster.make_private_dir(&cluster.socket_dir)?;
        cluster.start_server(durability)
    }

    fn start_server(mut self, durability: Durability) -> Result<Self, EmbeddedError> {
        if !self.pgdata.join("PG_VERSION").exists() {
            self.init_cluster()?;
        }
        if self.is_running() {
            // Another Quorum process on the same data directory started it: share it,
            // and leave stopping it to that process.
            return Ok(self);
        }
        let mut options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c port={SOCKET_PORT}",
            self.socket_dir.display()
        );
        if durability == Durability::Throwaway {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            // Tests count the statements each page runs.
            if self.has_library("pg_stat_statements") {
                options.push_str(" -c shared_preload_libraries=pg_stat_statements");
            }
        }
        let log_file = self.pgdata.with_file_name("postgres.log");
        self.run(
            Command::new(self.bin_dir.join("pg_ctl"))
                .arg("start")
                .arg("--wait")
                .args(["--timeout", "60"])
                .arg("--pgdata")
                .arg(&self.pgdata)
                .arg("--log")
                .arg(&log_file)
                .args(["-o", &options]),
        )
        .map_err(|error| match error {
            EmbeddedError::CommandFailed { command, detail } => EmbeddedError::CommandFailed {
                command,
                detail: format!(
                    "{detail}\n{}",
                    fs::read_to_string(&log_file).unwrap_or_default()
                ),
            },
            other => other,
        })?;
        self.started_here = true;
        Ok(self)
    }

    /// Whether PostgreSQL's library directory (`lib/` beside the real `bin/`, the binaries
    /// on PATH may be links to it) holds the module `name`.
    fn has_library(&self, name: &str) -> bool {
        fs::canonicalize(self.bin_dir.join("postgres"))
            .ok()
            .and_then(|postgres| Some(postgres.parent()?.parent()?.join("lib")))
            .is_some_and(|lib| lib.join(format!("{name}.so")).is_file())
    }

    fn init_cluster(&self) -> Result<(), EmbeddedError> {
        self.run(
            Command::new(self.bin_dir.join("initdb"))
                .arg("--pgdata")
                .arg(&self.pgdata)
                .args(["--username", SUPERUSER])
                .args(["--auth", "trust"])
                .args(["--encoding", "UTF8"])
                .args(["--locale", "C.UTF-8"])
                .arg("--no-instructions"),
        )?;
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.run(
            Command::new(self.bin_dir.join("pg_ctl"))
                .arg("status")
                .arg("--pgdata")
                .arg(&self.pgdata),
        )
        .is_ok()
    }

    /// The directory holding the cluster's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Connection options for `database` as `user`, over the cluster's socket.
    pub fn connect_options(&self, user: &str, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(SOCKET_PORT)
            .username(user)
            .database(database)
    }

    /// Stops the server if this process started it. Safe to call more than once.
    pub fn stop(&mut self) {
        if !self.started_here {
            return;
        }
        self.started_here = false;
        let result = self.run(
            Command::new(self.bin_dir.join("pg_ctl"))
                .arg("stop")
                .arg("--wait")
                .args(["--mode", "fast"])
                .arg("--pgdata")
                .arg(&self.pgdata),
        );
        if let Err(error) = result {
            tracing::warn!(%error, "could not stop the embedded PostgreSQL cluster");
        }
    }

    fn make_private_dir(&self, dir: &Path) -> Result<(), EmbeddedError> {
        fs::create_dir_all(dir).map_err(io_error(format!("cannot create {}", dir.display())))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(io_error(format!("cannot restrict {}", dir.display())))?;
        if let Some(run_as) = self.run_as {
            chown(dir, Some(run_as.uid.as_raw()), Some(run_as.gid.as_raw())).map_err(io_error(
                format!("cannot hand {} to postgres", dir.display()),
            ))?;
        }
        Ok(())
    }

    fn run(&self, command: &mut Command) -> Result<Output, EmbeddedError> {
        if let Some(run_as) = self.run_as {
            command.uid(run_as.uid.as_raw()).gid(run_as.gid.as_raw());
            // The postgres user may not be allowed into our working directory.
            command.current_dir(&self.socket_dir);
        }
        let description = format!("{command:?}");
        let output = command
            .output()
            .map_err(io_error(format!("cannot run {description}")))?;
        if output.status.success() {
            Ok(output)
        } else {
            let hint = if self.run_as.is_some() {
                "\n(The cluster runs as the `postgres` system user, which must be able to \
                 reach the data directory: every directory above it needs execute \
                 permission for that user. Choose another QUORUM_DATA_DIR, e.g. under \
                 /var/lib, if it lives under /root.)"
            } else {
                ""
            };
            Err(EmbeddedError::CommandFailed {
                command: description,
                detail: format!(
                    "{}{}{hint}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            })
        }
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The directory holding `initdb` and `pg_ctl`: from PATH, else the newest
/// `/usr/lib/postgresql/<version>/bin`.
pub fn find_server_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|dir| has_both(dir))
    {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}
