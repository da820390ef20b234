//! What survives a restart: the incarnation counter, the operator's
//! decisions and the services this node may have left running. Written
//! atomically (temp file, fsync, rename). The state dir's lock keeps two
//! srrd processes (a run and a cleanup, or two runs) off one node's state.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::engine::{Intent, Restored};
use crate::model::RouterId;

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PersistedState {
    /// Grows by one at every start; the high bits of every LSA generation.
    pub incarnation: u32,
    pub intents: BTreeMap<String, Intent>,
    pub standby: BTreeSet<String>,
    /// Quorum services: every node that ever announced them.
    #[serde(default)]
    pub members: BTreeMap<String, BTreeSet<RouterId>>,
    /// The last run ended by a graceful shutdown (not a crash or kill -9).
    #[serde(default)]
    pub clean_shutdown: bool,
    /// Services whose `start` ran and no `stop` has succeeded since: what
    /// `srrd cleanup` (and the next `srrd run`) must stop.
    #[serde(default)]
    pub started: BTreeSet<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is corrupt: {source} (move it away to start afresh)")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is locked: another srrd (run or cleanup) uses this state dir")]
    Locked { path: PathBuf },
}

pub struct StateFile {
    path: PathBuf,
}

/// Held while a process owns the state dir; the kernel releases it when
/// the process dies, however it dies.
pub struct StateLock {
    _file: Flock<std::fs::File>,
}

impl StateFile {
    pub fn new(state_dir: &Path) -> Result<StateFile, StateError> {
        std::fs::create_dir_all(state_dir).map_err(|source| StateError::Dir {
            path: state_dir.to_path_buf(),
            source,
        })?;
        Ok(StateFile {
            path: state_dir.join("state.json"),
        })
    }

    /// Takes the state dir's lock (`flock` on `srrd.lock`) or fails at
    /// once if another process holds it.
    pub fn lock(&self) -> Result<StateLock, StateError> {
        let path = self.path.with_file_name("srrd.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StateError::Io {
                path: path.clone(),
                source,
            })?;
        // std opens the file close-on-exec, so primitives' processes do not
        // inherit the lock.
        let file =
            Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(
                |(_, errno)| match errno {
                    Errno::EWOULDBLOCK => StateError::Locked { path },
                    _ => StateError::Io {
                        path,
                        source: errno.into(),
                    },
                },
            )?;
        Ok(StateLock { _file: file })
    }

    pub fn load(&self) -> Result<PersistedState, StateError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt {
                path: self.path.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PersistedState::default()),
            Err(source) => Err(StateError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Writes the state atomically (temp file, fsync, rename). The file
    /// work runs on tokio's blocking pool, so an fsync never stalls the
    /// daemon's single-threaded event loop; the caller still waits for it,
    /// since what it records must be on disk before the step it protects.
    pub async fn save(&self, state: &PersistedState) -> Result<(), StateError> {
        let io = |path: &Path, source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| io(&self.path, std::io::Error::other(e)))?;
        let path = self.path.clone();
        let write = move || -> std::io::Result<()> {
            let tmp = path.with_extension("json.tmp");
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        match tokio::task::spawn_blocking(write).await {
            Ok(result) => result.map_err(|e| io(&self.path, e)),
            Err(e) => Err(io(&self.path, std::io::Error::other(e))),
        }
    }
}

impl PersistedState {
    pub fn restored(&self) -> Restored {
        Restored {
            intents: self.intents.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            standby: self.standby.clone(),
            members: self
                .members
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            adopted: BTreeSet::new(),
        }
    }

    pub fn update(&mut self, r: &Restored) -> bool {
        let intents: BTreeMap<String, Intent> =
            r.intents.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let members: BTreeMap<String, BTreeSet<RouterId>> = r
            .members
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if intents == self.intents && r.standby == self.standby && members == self.members {
            return false;
        }
        self.intents = intents;
        self.standby = r.standby.clone();
        self.members = members;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn saves_and_loads_atomically() {
        let dir = std::env::temp_dir().join(format!("srrd-state-{}", std::process::id()));
        let file = StateFile::new(&dir).expect("dir");
        assert_eq!(file.load().expect("empty"), PersistedState::default());
        let mut s = PersistedState {
            incarnation: 7,
            ..Default::default()
        };
        s.intents.insert("web".into(), Intent::Inactive);
        s.standby.insert("web".into());
        file.save(&s).await.expect("save");
        assert_eq!(file.load().expect("load"), s);
        s.started.insert("web".into());
        file.save(&s).await.expect("save");
        assert_eq!(file.load().expect("load"), s);
        std::fs::write(dir.join("state.json"), b"{not json").expect("write");
        assert!(matches!(file.load(), Err(StateError::Corrupt { .. })));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn the_lock_is_exclusive_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("srrd-lock-{}", std::process::id()));
        let file = StateFile::new(&dir).expect("dir");
        let held = file.lock().expect("first lock");
        assert!(matches!(file.lock(), Err(StateError::Locked { .. })));
        drop(held);
        file.lock().expect("lock again after release");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
