//! A small SMTP client for notices: plain SMTP to a relay the operator runs (a local MTA or a
//! mail provider's relay port reachable without TLS). EHLO (HELO as fallback), MAIL FROM, one
//! RCPT TO per recipient, DATA, QUIT; no authentication, no STARTTLS. Written by hand because
//! it needs ~100 lines, where a full client library would add a dozen crates to the build.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender address (`MAIL FROM` and the `From` header).
    pub from: String,
}

/// One plain-text message.
#[derive(Clone, Debug)]
pub struct Message {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// True for an address that can go into a command and a header as is.
fn plain_address(a: &str) -> bool {
    !a.is_empty()
        && a.len() <= 254
        && a.contains('@')
        && !a
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'))
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Sends `msg`; the error says which step failed.
pub async fn send(cfg: &SmtpConfig, msg: &Message) -> Result<(), String> {
    if !plain_address(&cfg.from) {
        return Err(format!("the sender address '{}' is not valid", cfg.from));
    }
    let to: Vec<&String> = msg.to.iter().filter(|a| plain_address(a)).collect();
    if to.is_empty() {
        return Err("no valid recipient".into());
    }
    tokio::time::timeout(Duration::from_secs(30), exchange(cfg, &to, msg))
        .await
        .map_err(|_| "the SMTP server did not answer in time".to_string())?
}

async fn exchange(cfg: &SmtpConfig, to: &[&String], msg: &Message) -> Result<(), String> {
    let stream = TcpStream::connect((cfg.host.as_str(), cfg.port))
        .await
        .map_err(|e| format!("connecting to {}:{}: {e}", cfg.host, cfg.port))?;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    expect(&mut r, 220, "greeting").await?;
    command(&mut w, "EHLO headwater").await?;
    if expect(&mut r, 250, "EHLO").await.is_err() {
        command(&mut w, "HELO headwater").await?;
        expect(&mut r, 250, "HELO").await?;
    }
    command(&mut w, &format!("MAIL FROM:<{}>", cfg.from)).await?;
    expect(&mut r, 250, "MAIL FROM").await?;
    for a in to {
        command(&mut w, &format!("RCPT TO:<{a}>")).await?;
        expect(&mut r, 250, "RCPT TO").await?;
    }
    command(&mut w, "DATA").await?;
    expect(&mut r, 354, "DATA").await?;
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let domain = cfg.from.rsplit('@').next().unwrap_or("headwater");
    let mut data = format!(
        "From: <{}>\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{}@{domain}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n",
        cfg.from,
        to.iter()
            .map(|a| format!("<{a}>"))
            .collect::<Vec<_>>()
            .join(", "),
        one_line(&msg.subject),
        headwater_core::ids::new_uid(),
    );
    for line in msg.body.lines() {
        // Dot-stuffing: a line starting with '.' gets another, so it cannot end the data.
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    w.write_all(data.as_bytes())
        .await
        .map_err(|e| format!("sending the message: {e}"))?;
    expect(&mut r, 250, "end of data").await?;
    let _ = command(&mut w, "QUIT").await;
    Ok(())
}

async fn command(w: &mut tokio::net::tcp::OwnedWriteHalf, line: &str) -> Result<(), String> {
    w.write_all(format!("{line}\r\n").as_bytes())
        .await
        .map_err(|e| format!("sending {line}: {e}"))
}

/// Reads a (possibly multi-line) reply and checks its code.
async fn expect(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    want: u16,
    step: &str,
) -> Result<(), String> {
    loop {
        let mut line = String::new();
        let n = r
            .read_line(&mut line)
            .await
            .map_err(|e| format!("{step}: {e}"))?;
        if n == 0 {
            return Err(format!("{step}: the server closed the connection"));
        }
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if line.as_bytes().get(3) == Some(&b'-') {
            continue;
        }
        if code != want {
            return Err(format!("{step}: the server answered {}", line.trim_end()));
        }
        return Ok(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_could_inject_commands_are_refused() {
        assert!(plain_address("a@example.com"));
        assert!(!plain_address("a@example.com>\r\nRCPT TO:<b@x"));
        assert!(!plain_address("no-at-sign"));
        assert_eq!(one_line("a\r\nBcc: x"), "a  Bcc: x");
    }
}
