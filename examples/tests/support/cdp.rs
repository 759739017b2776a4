//! A minimal Chrome DevTools Protocol client over a hand-written WebSocket
//! (RFC 6455 client frames, text only, no fragmentation): enough to evaluate
//! JavaScript in the page.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub(crate) struct Page {
    sock: TcpStream,
    next_id: u64,
}

fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    // DevTools may keep the connection open: read what arrives within 2 s.
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    Ok(out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default())
}

/// The WebSocket path of the first page target.
pub(crate) fn page_path(port: u16) -> Option<String> {
    let body = http_get(port, "/json/list").ok()?;
    let list: serde_json::Value = serde_json::from_str(&body).ok()?;
    let url = list.as_array()?.iter().find(|t| t["type"] == "page")?["webSocketDebuggerUrl"]
        .as_str()?
        .to_owned();
    url.splitn(4, '/').nth(3).map(|p| format!("/{p}"))
}

impl Page {
    pub(crate) fn connect(port: u16, path: &str) -> std::io::Result<Page> {
        let mut sock = TcpStream::connect(("127.0.0.1", port))?;
        sock.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            sock,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )?;
        let mut r = BufReader::new(sock.try_clone()?);
        let mut line = String::new();
        r.read_line(&mut line)?;
        if !line.contains(" 101 ") {
            return Err(std::io::Error::other(format!("no upgrade: {line}")));
        }
        loop {
            line.clear();
            r.read_line(&mut line)?;
            if line == "\r\n" {
                break;
            }
        }
        Ok(Page { sock, next_id: 1 })
    }

    fn send(&mut self, text: &str) -> std::io::Result<()> {
        let p = text.as_bytes();
        let mut f = vec![0x81u8];
        match p.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n < 65536 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x11u8, 0x22, 0x33, 0x44];
        f.extend_from_slice(&mask);
        f.extend(p.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.sock.write_all(&f)
    }

    fn recv(&mut self) -> std::io::Result<String> {
        let mut h = [0u8; 2];
        self.sock.read_exact(&mut h)?;
        let len = match h[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                self.sock.read_exact(&mut b)?;
                u16::from_be_bytes(b) as usize
            }
            127 => {
                let mut b = [0u8; 8];
                self.sock.read_exact(&mut b)?;
                u64::from_be_bytes(b) as usize
            }
            n => n as usize,
        };
        let mut p = vec![0u8; len];
        self.sock.read_exact(&mut p)?;
        Ok(String::from_utf8_lossy(&p).into_owned())
    }

    /// Evaluates `expr` in the page; returns the result value.
    pub(crate) fn eval(&mut self, expr: &str) -> std::io::Result<serde_json::Value> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = serde_json::json!({
            "id": id, "method": "Runtime.evaluate",
            "params": { "expression": expr, "returnByValue": true }
        });
        self.send(&msg.to_string())?;
        loop {
            let m: serde_json::Value = serde_json::from_str(&self.recv()?).unwrap_or_default();
            if m["id"] == id {
                return Ok(m["result"]["result"]["value"].clone());
            }
        }
    }
}
