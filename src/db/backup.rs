//! `quorum backup` and `quorum restore`: PostgreSQL's own `pg_dump` and `pg_restore` on
//! Quorum's database, and a copy of the evidence directory when evidence files are kept
//! on disk. A backup is a directory: `quorum.dump` (pg_dump's custom format, which
//! pg_restore and PostgreSQL's other tools read) and `evidence/`.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::Database;
use super::embedded::find_server_binaries;

const DUMP_FILE: &str = "quorum.dump";
const EVIDENCE_DIR: &str = "evidence";

/// Writes a backup of `database` (and of `evidence`, if given) into the new or empty
/// directory `to`. Returns how many evidence files were copied.
pub fn backup(database: &Database, to: &Path, evidence: Option<&Path>) -> anyhow::Result<usize> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    if fs::read_dir(to)?.next().is_some() {
        bail!(
            "{} is not empty: a backup goes into a new or empty directory",
            to.display()
        );
    }
    let mut dump = database.client("pg_dump")?;
    dump.arg("--format=custom")
        .arg("--file")
        .arg(to.join(DUMP_FILE));
    run(dump, "pg_dump")?;
    match evidence {
        Some(evidence) => copy_files(evidence, &to.join(EVIDENCE_DIR)),
        None => Ok(0),
    }
}

/// Replaces what `database` holds with the backup in `from` (its evidence files go back
/// into `evidence`, if given), in one transaction: a failed restore changes nothing.
/// Returns how many evidence files were copied back.
pub fn restore(database: &Database, from: &Path, evidence: Option<&Path>) -> anyhow::Result<usize> {
    let dump = from.join(DUMP_FILE);
    if !dump.is_file() {
        bail!(
            "{} holds no {DUMP_FILE}: not a Quorum backup",
            from.display()
        );
    }
    let mut restore = database.client("pg_restore")?;
    restore
        .args([
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
        ])
        .arg(&dump);
    run(restore, "pg_restore")?;
    match evidence {
        Some(evidence) if from.join(EVIDENCE_DIR).is_dir() => {
            copy_files(&from.join(EVIDENCE_DIR), evidence)
        }
        _ => Ok(0),
    }
}

/// The PostgreSQL client program `name`: beside the server binaries Quorum found (the
/// same version as the embedded cluster), else from PATH.
fn tool(name: &str) -> PathBuf {
    find_server_binaries()
        .map(|dir| dir.join(name))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn run(mut command: Command, name: &str) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {name} (is PostgreSQL's client installed?)"))?;
    if !output.status.success() {
        bail!(
            "{name} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Copies the files of `from` into `to` (created if missing), keeping those already
/// there: evidence files are named by their content's hash, so a same name is the same
/// file.
fn copy_files(from: &Path, to: &Path) -> anyhow::Result<usize> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let mut copied = 0;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_file() && !target.exists() {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
            copied += 1;
        }
    }
    Ok(copied)
}

impl Database {
    /// PostgreSQL's client program `program`, set to reach this database as its owner. A
    /// password in `DATABASE_URL` goes in the environment (`PGPASSWORD`), not in the
    /// arguments, which every user of the machine can read.
    fn client(&self, program: &str) -> anyhow::Result<Command> {
        let mut command = Command::new(tool(program));
        if let Some(url) = &self.owner_url {
            let mut url = url::Url::parse(url).context("DATABASE_URL is not a valid URL")?;
            if let Some(password) = url.password() {
                let password = percent_encoding::percent_decode_str(password)
                    .decode_utf8()
                    .context("the password in DATABASE_URL is not UTF-8")?
                    .into_owned();
                command.env("PGPASSWORD", password);
                let _ = url.set_password(None);
            }
            command.arg("--dbname").arg(url.as_str());
            return Ok(command);
        }
        let options = &self.owner;
        let host: OsString = match options.get_socket() {
            Some(socket_dir) => socket_dir.into(),
            None => options.get_host().into(),
        };
        command
            .arg("--host")
            .arg(host)
            .arg("--port")
            .arg(options.get_port().to_string())
            .arg("--username")
            .arg(options.get_username())
            .arg("--dbname")
            .arg(options.get_database().unwrap_or("quorum"));
        Ok(command)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::postgres::PgConnectOptions;

    use super::*;

    #[test]
    fn a_password_in_database_url_is_passed_in_the_environment_not_the_arguments() {
        let url = "postgres://quorum_owner:s3cr%40t@db.example.org:5433/quorum?sslmode=require";
        let database = Database {
            owner_url: Some(url.to_owned()),
            ..Database::new(PgConnectOptions::from_str(url).unwrap(), None, None)
        };
        let command = database.client("pg_dump").unwrap();
        let arguments: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        assert!(
            !arguments.iter().any(|a| a.contains("s3cr")),
            "{arguments:?}"
        );
        assert!(
            arguments
                .iter()
                .any(|a| a.starts_with("postgres://quorum_owner@db.example.org:5433/quorum"))
        );
        let password = command
            .get_envs()
            .find(|(name, _)| *name == "PGPASSWORD")
            .and_then(|(_, value)| value);
        assert_eq!(password, Some(std::ffi::OsStr::new("s3cr@t")));
    }
}
