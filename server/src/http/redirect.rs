//! Where a form may send a person back to: only this site's own paths (no open redirect).

/// Only paths of this site are places to go back to: a path that starts with one `/`, with no
/// backslash and no control character anywhere (browsers drop tabs and line breaks from a URL,
/// so `/\t/evil.example` would become `//evil.example`, another site).
pub fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.chars().any(|c| c == '\\' || c.is_control());
    if local { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next("/cycle?state=failed"), "/cycle?state=failed");
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "cycle",
            "/\t/evil.example",
            "/\r\n/evil.example",
            "/cycle\u{0}",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
