//! What text people may put where. Names (nodes, workflows, resource groups) follow one
//! character set, so they work in URLs, file names and the shell; free text (a command) may
//! hold line breaks and tabs but no other control character (a NUL would fail only at run
//! time); a label people read (a token's name) is one line, without bidirectional overrides
//! that make it read as something else. Shared by the server, which refuses, and the browser.

use crate::error::AppError;
use crate::reason::Reason;

/// The longest name.
pub const MAX_NAME: usize = 128;

/// A name: 1 to 128 ASCII letters, digits, `_`, `-` or `.`, starting with a letter, digit or
/// `_` (so never `.`, `..` or an option-looking `-x`).
pub fn is_name(value: &str) -> bool {
    let mut bytes = value.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && value.len() <= MAX_NAME
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The words for [`is_name`], for refusals.
pub const NAME_RULE: &str =
    "use 1 to 128 letters, digits, '_', '-' or '.', starting with a letter, digit or '_'";

/// Characters that reorder the text around them when it is shown.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Free text such as a command: no NUL and no control character but tab and line breaks.
pub fn check_free_text(field: &str, value: &str) -> Result<(), AppError> {
    match value.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        None => Ok(()),
        Some(c) => Err(AppError::because(Reason::ControlCharacter {
            field: field.to_string(),
            character: c as u32,
        })),
    }
}

/// A one-line label people read: 1 to `max` characters, no control characters, no
/// bidirectional overrides.
pub fn check_label(field: &str, value: &str, max: usize) -> Result<(), AppError> {
    let length = value.trim().chars().count();
    if length == 0 || length > max {
        return Err(AppError::because(Reason::TextLength { field: field.to_string(), max }));
    }
    match value.chars().find(|c| c.is_control() || is_bidi_control(*c)) {
        None => Ok(()),
        Some(c) => Err(AppError::because(Reason::InvisibleCharacter {
            field: field.to_string(),
            character: c as u32,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_their_character_set() {
        for good in ["a", "load_orders", "_private", "v1.2-final", "9lives"] {
            assert!(is_name(good), "{good}");
        }
        for bad in ["", ".", "..", ".hidden", "-rf", "a b", "ä", "a/b", &"x".repeat(129)] {
            assert!(!is_name(bad), "{bad}");
        }
    }

    #[test]
    fn free_text_keeps_lines_and_tabs_but_no_other_control() {
        assert!(check_free_text("command", "echo a\n\techo b\r\n").is_ok());
        let nul = check_free_text("command", "echo a\u{0}b").unwrap_err();
        assert_eq!(nul.field.as_deref(), Some("command"));
        assert!(nul.message.contains("U+0000"), "{}", nul.message);
        assert!(check_free_text("command", "echo \u{1b}[31m").is_err());
    }

    #[test]
    fn labels_are_one_visible_line() {
        assert!(check_label("name", "nightly report ✓", 100).is_ok());
        for bad in ["", "   ", "a\u{0}b", "a\nb", "evil\u{202e}gnp.exe", "x\u{2066}y"] {
            assert!(check_label("name", bad, 100).is_err(), "{bad:?}");
        }
        assert!(check_label("name", &"x".repeat(101), 100).is_err());
    }
}
