//! The language a page speaks. The server chooses it for each page request (the `?lang=` of the
//! URL, else this browser's choice in the `nightshift_lang` cookie, else the signed-in person's
//! saved choice, else the browser's `Accept-Language`), renders the page in it and writes it
//! into `<html lang>`; the browser reads it back from there when it hydrates, so both render the
//! same words. Choosing another language loads the page anew.
//!
//! The words themselves are in `locales/<language>/<namespace>.json`, compiled into
//! [`crate::i18n`] by build.rs; use them with `td_string!(locale(), namespace.key)`.

use leptos::prelude::*;

pub use crate::i18n::Locale;

/// The cookie that remembers this browser's choice.
pub const COOKIE: &str = "nightshift_lang";

/// The languages, in the order the switch shows them, with their own names.
pub const CHOICES: [(Locale, &str); 2] = [(Locale::zh_CN, "中文"), (Locale::en, "English")];

/// The BCP 47 tag of a language, as `<html lang>`, the cookie and `?lang=` write it.
pub fn tag(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "en",
        Locale::zh_CN => "zh-CN",
    }
}

/// The language a tag asks for: `zh-CN`, `zh`, `zh-Hans…` mean simplified Chinese, any `en…`
/// English (case does not matter); anything else none.
pub fn from_tag(tag: &str) -> Option<Locale> {
    let tag = tag.trim().to_ascii_lowercase();
    let primary = tag.split(['-', '_']).next().unwrap_or_default();
    match primary {
        "en" => Some(Locale::en),
        "zh" if !tag.contains("hant") && !tag.ends_with("-tw") && !tag.ends_with("-hk") => {
            Some(Locale::zh_CN)
        }
        _ => None,
    }
}

/// The best language of an `Accept-Language` header: the one with the highest weight that we
/// speak (the first listed among equal weights).
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(Locale, u16)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let Some(locale) = parts.next().and_then(from_tag) else { continue };
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
            .next()
            .unwrap_or(1000);
        if weight > 0 && best.is_none_or(|(_, w)| weight > w) {
            best = Some((locale, weight));
        }
    }
    best.map(|(locale, _)| locale)
}

/// A result that carries reasons (typed, for scripts) puts them into the words of a language:
/// what a server function does before the browser gets it, so the browser needs no code to read
/// the reasons back.
pub trait Localize {
    fn localize(self, locale: Locale) -> Self;
}

/// The page's language, provided once by the App.
#[derive(Debug, Clone, Copy)]
struct PageLocale(Locale);

/// The language of the page being rendered.
pub fn locale() -> Locale {
    use_context::<PageLocale>().map(|p| p.0).unwrap_or_default()
}

/// Finds the page's language (on the server from the request, in the browser from
/// `<html lang>`) and provides it to the whole App.
pub fn provide_locale() -> Locale {
    let locale = request_locale();
    provide_context(PageLocale(locale));
    locale
}

/// The language the server chose for this request.
#[cfg(feature = "ssr")]
pub fn request_locale() -> Locale {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Locale>().copied())
        .unwrap_or_default()
}

/// The language the server rendered the page in.
#[cfg(not(feature = "ssr"))]
pub fn request_locale() -> Locale {
    #[cfg(feature = "hydrate")]
    {
        document()
            .document_element()
            .and_then(|html| html.get_attribute("lang"))
            .and_then(|lang| from_tag(&lang))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Locale::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_our_languages() {
        for (tag, expected) in [
            ("zh-CN", Some(Locale::zh_CN)),
            ("zh", Some(Locale::zh_CN)),
            ("ZH-cn", Some(Locale::zh_CN)),
            ("zh-Hans-CN", Some(Locale::zh_CN)),
            ("zh_CN", Some(Locale::zh_CN)),
            ("zh-TW", None),
            ("zh-Hant", None),
            ("en", Some(Locale::en)),
            ("en-GB", Some(Locale::en)),
            ("fr", None),
            ("", None),
            ("<script>", None),
        ] {
            assert_eq!(from_tag(tag), expected, "{tag}");
        }
        for (locale, _) in CHOICES {
            assert_eq!(from_tag(tag(locale)), Some(locale));
        }
    }

    #[test]
    fn accept_language_picks_the_heaviest_language_we_speak() {
        for (header, expected) in [
            ("zh-CN,zh;q=0.9,en;q=0.8", Some(Locale::zh_CN)),
            ("en-US,en;q=0.9", Some(Locale::en)),
            ("fr-FR,fr;q=0.9,zh;q=0.8,en;q=0.7", Some(Locale::zh_CN)),
            ("en;q=0.5, zh-CN;q=0.8", Some(Locale::zh_CN)),
            ("zh-CN;q=0, en;q=0.1", Some(Locale::en)),
            ("de, fr", None),
            ("*", None),
            ("", None),
            ("en;q=abc", Some(Locale::en)),
        ] {
            assert_eq!(from_accept_language(header), expected, "{header}");
        }
    }
}
