//! The daemon's side of the HTTPS API: requests from the web server's
//! tasks answered in the daemon's task, where the engine lives.

use tracing::info;

use super::{invocation, Daemon};
use crate::config;
use crate::engine::{Command, Event, PrimitiveRun};
use crate::model::{ConfigState, Primitive, RunState};
use crate::web::{edit, Applied, ConfigEdit, Decision, EditError, Request};

impl Daemon {
    pub(super) async fn on_web(
        &mut self,
        request: Request,
        shutdown_deadline: &mut Option<tokio::time::Instant>,
    ) {
        match request {
            Request::Command {
                command,
                clear_failed,
                reply,
            } => {
                let decision = self.command(command, clear_failed, shutdown_deadline).await;
                // The asker may have given up waiting: nothing to tell.
                let _ = reply.send(decision);
            }
            Request::Edit { edit, reply } => {
                let applied = self.edit(edit).await;
                let _ = reply.send(applied);
            }
            Request::WhatIf { command, reply } => {
                let _ = reply.send(self.engine.what_if(&command));
            }
            Request::Status { service, reply } => {
                let inv = self.engine.service_config(&service).map(|cfg| {
                    let run = PrimitiveRun {
                        op: crate::engine::OpId(0),
                        service: service.clone(),
                        primitive: Primitive::Status,
                        peer: None,
                        timeout_ms: cfg.timeouts.for_primitive(Primitive::Status).as_millis()
                            as u64,
                        peers: Vec::new(),
                        drain_ms: 0,
                    };
                    invocation(&self.config.node, Some(cfg), &run, self.engine.router_id())
                });
                let _ = reply.send(inv);
            }
        }
    }

    async fn command(
        &mut self,
        command: Command,
        clear_failed: bool,
        shutdown_deadline: &mut Option<tokio::time::Instant>,
    ) -> Decision {
        if command == Command::Shutdown {
            self.begin_shutdown(shutdown_deadline).await;
            return Decision::Accepted;
        }
        let Some(status) = command.service().and_then(|s| self.engine.service(s)) else {
            return Decision::UnknownService;
        };
        if clear_failed && status.config != ConfigState::Failed && status.run != RunState::Failed {
            return Decision::Rejected("not failed on this node".into());
        }
        match self.feed(Event::Command(command)).await {
            Some(reason) => Decision::Rejected(reason),
            None => Decision::Accepted,
        }
    }

    /// Validates, saves and applies a configuration change as SIGHUP does;
    /// a switch of `disabled` also goes to the engine as enable/disable.
    async fn edit(&mut self, edit: ConfigEdit) -> Result<Applied, EditError> {
        if let Some(name) = edit.service().filter(|_| edit.needs_inactive()) {
            if let Some(s) = self.engine.service(name) {
                let active = matches!(s.config, ConfigState::Active | ConfigState::Injected)
                    || !matches!(s.run, RunState::Stopped | RunState::Failed);
                if active {
                    return Err(EditError::Active(name.to_string()));
                }
            }
        }
        // Reading and the fsynced write run off the runtime; the loop waits
        // for them, so the reload below sees the new file.
        let path = self.config_path.clone();
        let planned = edit.clone();
        tokio::task::spawn_blocking(move || {
            let current = config::load(&path).map_err(|e| EditError::File {
                path: path.display().to_string(),
                what: format!("invalid now, fix it by hand first:\n{e}"),
            })?;
            edit::save(&path, &edit::plan(&current, &planned)?)
        })
        .await
        .map_err(|e| EditError::File {
            path: self.config_path.display().to_string(),
            what: format!("the write did not finish: {e}"),
        })??;
        info!(target: "srrd::audit", file = %self.config_path.display(), "configuration file rewritten");
        let mut needs_restart = self.reload();
        if let ConfigEdit::SetDisabled(name, disabled) = &edit {
            if self.engine.service(name).is_some() {
                needs_restart.retain(|c| *c != format!("{name}.disabled"));
                let command = match disabled {
                    true => Command::Disable(name.clone()),
                    false => Command::Enable(name.clone()),
                };
                self.feed(Event::Command(command)).await;
            }
        }
        Ok(Applied { needs_restart })
    }
}
