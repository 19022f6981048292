//! `trophybot healthcheck`: asks the running bot's `/healthz`, for Docker's HEALTHCHECK (the
//! slim runtime image has no curl). A plain HTTP/1.1 request over std's TcpStream is enough.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Connect, write and read each give up after this long: a hung bot is an unhealthy bot.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The status line and the small JSON body fit well within this.
const MAX_RESPONSE: u64 = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("HTTP_ADDR={0:?} is not an address such as 0.0.0.0:8080")]
    BadAddress(String),
    #[error("cannot reach the bot at {addr}: {source}")]
    Unreachable {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the bot answered something that is not HTTP")]
    NotHttp,
    #[error("the bot is unhealthy (HTTP {status}): {body}")]
    Unhealthy { status: u16, body: String },
}

/// Asks `GET /healthz` at `addr`; an unspecified address (0.0.0.0, ::) means this machine.
/// Returns the body of a 200 answer (`ok` or `degraded`); 503 (`unhealthy`) and anything else
/// is an error.
pub fn healthcheck(addr: SocketAddr) -> Result<String, HealthcheckError> {
    let addr = local_target(addr);
    let unreachable = |source| HealthcheckError::Unreachable { addr, source };
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(unreachable)?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(unreachable)?;
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(unreachable)?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut response)
        .map_err(unreachable)?;
    let (status, body) = parse_response(&response).ok_or(HealthcheckError::NotHttp)?;
    if status == 200 {
        Ok(body)
    } else {
        Err(HealthcheckError::Unhealthy { status, body })
    }
}

/// The `healthcheck` subcommand: reads `HTTP_ADDR` like `run` does and exits 0 when healthy,
/// 1 otherwise (Docker reserves other codes).
pub fn healthcheck_from_env() -> i32 {
    let result = crate::config::http_addr_from_env()
        .map_err(HealthcheckError::BadAddress)
        .and_then(healthcheck);
    match result {
        Ok(body) => {
            println!("{body}");
            0
        }
        Err(err) => {
            eprintln!("unhealthy: {err}");
            1
        }
    }
}

fn local_target(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// The status code and body of an HTTP/1.x response read to the end (`Connection: close`).
fn parse_response(response: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status_line = head.lines().next()?;
    let mut parts = status_line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    Some((status, body.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_body() {
        let response = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\r\n{\"status\":\"unhealthy\"}";
        assert_eq!(
            parse_response(response),
            Some((503, "{\"status\":\"unhealthy\"}".to_string()))
        );
        assert_eq!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n"), None);
        assert_eq!(parse_response(b""), None);
    }

    #[test]
    fn an_unspecified_address_means_this_machine() {
        let addr: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(local_target(addr).to_string(), "127.0.0.1:8080");
        let addr: SocketAddr = "[::]:8080".parse().unwrap();
        assert_eq!(local_target(addr).to_string(), "[::1]:8080");
        let addr: SocketAddr = "10.0.0.2:9000".parse().unwrap();
        assert_eq!(local_target(addr), addr);
    }

    #[test]
    fn nothing_listening_is_unhealthy() {
        // Bind then drop: the port is free, so the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = healthcheck(SocketAddr::from(([127, 0, 0, 1], port))).unwrap_err();
        assert!(matches!(err, HealthcheckError::Unreachable { .. }), "{err}");
    }
}
