//! systemd notifications (sd_notify protocol): one datagram to
//! $NOTIFY_SOCKET for readiness, stopping and watchdog pings.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Sends `state` (e.g. "READY=1") if run under systemd with Type=notify;
/// does nothing otherwise.
pub fn sd_notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let path = path.to_string_lossy().into_owned();
    let addr = match path.strip_prefix('@') {
        Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name.as_bytes()),
        None => SocketAddr::from_pathname(&path),
    };
    let sent = addr.and_then(|addr| {
        let sock = UnixDatagram::unbound()?;
        sock.send_to_addr(state.as_bytes(), &addr)
    });
    if let Err(e) = sent {
        tracing::warn!(socket = %path, error = %e, "sd_notify failed");
    }
}

/// How often to send "WATCHDOG=1", if systemd watches this process
/// (`WatchdogSec=` in the unit).
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_ping_interval(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// Half of `WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises, so one late
/// ping is not yet a timeout. None without a usable timeout, or if
/// `WATCHDOG_PID` names another process (the variables were inherited).
fn watchdog_ping_interval(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok()? != own_pid {
            return None;
        }
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::watchdog_ping_interval as interval;
    use std::time::Duration;

    #[test]
    fn pings_at_half_the_timeout() {
        assert_eq!(
            interval(Some("30000000"), None, 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            interval(Some("3"), Some("7"), 7),
            Some(Duration::from_micros(1))
        );
    }

    #[test]
    fn no_watchdog_without_a_usable_timeout_or_for_another_process() {
        assert_eq!(interval(None, None, 7), None);
        assert_eq!(interval(Some("0"), None, 7), None);
        assert_eq!(interval(Some("-5"), None, 7), None);
        assert_eq!(interval(Some("soon"), None, 7), None);
        assert_eq!(interval(Some("30000000"), Some("8"), 7), None);
        assert_eq!(interval(Some("30000000"), Some("x"), 7), None);
    }
}
