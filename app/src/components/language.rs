//! The language switch in the header: a plain form, so it works before the page is interactive
//! and on the login page. The server remembers the choice in this browser (a cookie) and, for
//! someone signed in, in their account, then sends them back to the page they were on, shown
//! anew in the chosen language.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::i18n::td_string;
use crate::lang::{CHOICES, locale, tag};

/// Where the form posts: `lang` (`zh-CN` or `en`), `back` (the page to return to) and, for a
/// session, `csrf_token`.
pub const LANGUAGE_PATH: &str = "/language";

#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let l = locale();
    let location = use_location();
    let back = move || {
        let (path, query) = (location.pathname.get(), location.search.get());
        let query = query.trim_start_matches('?');
        if query.is_empty() { path } else { format!("{path}?{query}") }
    };
    view! {
        <form class="language" method="post" action=LANGUAGE_PATH aria-label=td_string!(l, common.language.label)>
            <input type="hidden" name="csrf_token" value=super::csrf::form_token()/>
            <input type="hidden" name="back" prop:value=back/>
            {CHOICES
                .into_iter()
                .map(|(choice, name)| {
                    let current = choice == l;
                    view! {
                        <button
                            type="submit"
                            name="lang"
                            value=tag(choice)
                            lang=tag(choice)
                            class="link"
                            class:current=current
                            aria-pressed=current.to_string()
                            title=td_string!(l, common.language.switch_title, name)
                        >
                            {name}
                        </button>
                    }
                })
                .collect_view()}
        </form>
    }
}
