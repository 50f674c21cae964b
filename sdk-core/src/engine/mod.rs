//! The sans-IO engine: one deterministic state machine per chat client.
//!
//! See the crate docs for the driving contract. The engine owns the connection state machine,
//! backoff, the outbound queue, inbound dedup, turn tracking and text assembly; a [`Dialect`]
//! supplies the wire protocol.

use crate::config::Config;
use crate::dialect::Dialect;
use crate::error::{ConfigError, EngineError};
use crate::ids::ClientId;
use crate::io::{Command, Input, Output};
use crate::state::ConnectionState;
use crate::time::Instant;
use std::collections::VecDeque;

/// A chat client's core, driven by a driver through [`handle`](Engine::handle),
/// [`poll_output`](Engine::poll_output) and [`poll_timeout`](Engine::poll_timeout).
pub struct Engine {
    config: Config,
    dialect: Box<dyn Dialect>,
    outputs: VecDeque<Output>,
    state: ConnectionState,
    last_now: Instant,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("dialect", &self.dialect.name())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for `dialect` with `config` (validated).
    pub fn new(config: Config, dialect: Box<dyn Dialect>) -> Result<Engine, ConfigError> {
        config.validate()?;
        Ok(Engine {
            config,
            dialect,
            outputs: VecDeque::new(),
            state: ConnectionState::Disconnected,
            last_now: Instant::ZERO,
        })
    }

    /// Feeds one input at time `now`. Afterwards drain [`poll_output`](Engine::poll_output).
    pub fn handle(&mut self, now: Instant, input: Input) -> Result<(), EngineError> {
        if now < self.last_now {
            return Err(EngineError::TimeWentBackwards {
                now,
                last: self.last_now,
            });
        }
        self.last_now = now;
        if self.state == ConnectionState::Closed {
            if let Input::Command(_) = input {
                return Err(EngineError::Closed);
            }
            return Ok(());
        }
        let _ = (&self.config, Command::Connect);
        Ok(())
    }

    /// Sends a chat message; returns its client id.
    pub fn send(&mut self, now: Instant, text: impl Into<String>) -> Result<ClientId, EngineError> {
        let _ = text.into();
        self.handle(now, Input::Command(Command::Connect))?;
        Err(EngineError::Closed)
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the driver must call `handle(now, Input::Timeout)` next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The public connection state.
    pub fn state(&self) -> ConnectionState {
        self.state
    }
}
