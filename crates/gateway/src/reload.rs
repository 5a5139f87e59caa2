//! Reloading the configuration on SIGHUP and when its file changes.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::Gateway;
use crate::server::stopped;

/// Watches `path` until `stop` turns true.
pub(crate) fn spawn(
    tasks: &mut JoinSet<()>,
    gateway: Gateway,
    path: PathBuf,
    stop: watch::Receiver<bool>,
) {
    // Read now, not in the task: a change made before the task first runs
    // must still count as a change.
    let seen = std::fs::read(&path).ok();
    tasks.spawn(on_change(gateway.clone(), path.clone(), seen, stop.clone()));
    // Registered now, so that a SIGHUP sent as soon as `watch` returns is
    // a reload rather than the default action (terminating the process).
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(hangups) => {
            tasks.spawn(on_hangup(gateway, path, hangups, stop));
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reloads follow file changes only");
        }
    }
}

/// Reloads whenever the file's contents differ from the last ones seen
/// (contents, not modification times: those can be too coarse to notice
/// two quick edits).
async fn on_change(
    gateway: Gateway,
    path: PathBuf,
    mut last: Option<Vec<u8>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = stopped(&mut stop) => return,
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
        let Ok(current) = tokio::fs::read(&path).await else {
            continue;
        };
        if last.as_ref() != Some(&current) {
            last = Some(current);
            let _ = gateway.reload(&path);
        }
    }
}

/// Reloads on every SIGHUP.
async fn on_hangup(
    gateway: Gateway,
    path: PathBuf,
    mut hangups: tokio::signal::unix::Signal,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = stopped(&mut stop) => return,
            received = hangups.recv() => {
                if received.is_none() {
                    return;
                }
                tracing::info!("SIGHUP: reloading the configuration");
                let _ = gateway.reload(&path);
            }
        }
    }
}

/// How often the file is read for changes.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
