//! A minimal HTTP/1.1 client for talking to a live server in tests (no extra dependency), and
//! [`Api`]: a client signed in one way or another (or not at all).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value a `Set-Cookie` header sets for `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next()?.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.to_string())
    }
}

/// Sends one request with extra headers and reads the whole response.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(String, String)],
) -> Response {
    send_from([127, 0, 0, 1], addr, method, path, body, headers).await
}

/// [`send`] from another loopback address (`127.x.y.z`): another client as the server sees it.
pub async fn send_from(
    from: [u8; 4],
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(String, String)],
) -> Response {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let body = body.unwrap_or("");
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    head.push_str(&format!("Connection: close\r\nContent-Length: {}\r\n", body.len()));
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").expect("a complete response");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Response { status, content_type: header("content-type").unwrap_or_default(), headers, body }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&tail[..size]);
        rest = &tail[size + 2..];
    }
    out
}

/// A client of one server, with the headers that say who it is.
#[derive(Debug, Clone)]
pub struct Api {
    pub addr: SocketAddr,
    pub headers: Vec<(String, String)>,
}

impl Api {
    pub fn anonymous(addr: SocketAddr) -> Api {
        Api { addr, headers: Vec::new() }
    }

    /// Signs in with name and password: the session cookie, and its CSRF token on every request.
    pub async fn session(addr: SocketAddr, name: &str, password: &str) -> Api {
        let body = serde_json::json!({ "username": name, "password": password }).to_string();
        let login = send(addr, "POST", "/api/v1/login", Some(&body), &[]).await;
        assert_eq!(login.status, 200, "login of {name}: {}", login.body);
        let cookie = login.cookie("nightshift_session").expect("a session cookie");
        let csrf = login.json()["csrf_token"].as_str().expect("a CSRF token").to_string();
        Api {
            addr,
            headers: vec![
                ("Cookie".into(), format!("nightshift_session={cookie}")),
                ("X-CSRF-Token".into(), csrf),
            ],
        }
    }

    /// Signs in, then uses a new API token of that person instead of the session.
    pub async fn token(addr: SocketAddr, name: &str, password: &str) -> Api {
        let session = Api::session(addr, name, password).await;
        let created = session.post("/api/v1/tokens", r#"{"name": "tests"}"#).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let token = created.json()["token"].as_str().unwrap().to_string();
        Api { addr, headers: vec![("Authorization".into(), format!("Bearer {token}"))] }
    }

    /// The same client without one of its headers (say, the CSRF token).
    pub fn without(&self, header: &str) -> Api {
        let headers =
            self.headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case(header)).cloned().collect();
        Api { addr: self.addr, headers }
    }

    pub fn with(&self, header: &str, value: &str) -> Api {
        let mut api = self.without(header);
        api.headers.push((header.to_string(), value.to_string()));
        api
    }

    pub async fn request(&self, method: &str, path: &str, body: Option<&str>) -> Response {
        send(self.addr, method, path, body, &self.headers).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Response {
        self.request("POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &str) -> Response {
        self.request("PUT", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path, None).await
    }
}

/// `GET /api/v1/events` as `api` asks for it, read as raw text so a test can wait for what the
/// stream says.
pub struct EventStream {
    stream: tokio::net::TcpStream,
    /// Everything read so far, the response head included.
    pub received: String,
    deadline: tokio::time::Instant,
}

impl EventStream {
    /// Opens the stream; every [`EventStream::until`] must be done within `within` from now.
    pub async fn open(api: &Api, within: std::time::Duration) -> EventStream {
        use tokio::io::AsyncWriteExt;
        let addr = api.addr;
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
             {}: {}\r\n\r\n",
            api.headers[0].0, api.headers[0].1
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let deadline = tokio::time::Instant::now() + within;
        EventStream { stream, received: String::new(), deadline }
    }

    /// Reads until the stream has said `needle`; fails, saying `what` was awaited, at the
    /// deadline.
    pub async fn until(&mut self, needle: &str, what: &str) {
        use tokio::io::AsyncReadExt;
        let mut buffer = [0u8; 4096];
        while !self.received.contains(needle) {
            let n = tokio::time::timeout_at(self.deadline, self.stream.read(&mut buffer))
                .await
                .expect(what)
                .unwrap();
            self.received.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    }
}
