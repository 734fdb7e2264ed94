use leptos::prelude::*;

use super::state_badge::state_icon;
use crate::i18n::td_string;
use crate::lang::locale;
use crate::model::InstanceState;

/// The states with their colours and icons.
#[component]
pub fn StateLegend() -> impl IntoView {
    let l = locale();
    view! {
        <ul class="legend" aria-label=td_string!(l, common.state.legend)>
            {InstanceState::ALL
                .into_iter()
                .map(|state| {
                    view! {
                        <li class=format!("badge state-{}", state.as_str())>
                            <span class="icon" aria-hidden="true">{state_icon(state)}</span>
                            <span class="label">{state.label(l)}</span>
                        </li>
                    }
                })
                .collect_view()}
            <li class="badge paused">{td_string!(l, common.state.paused_badge)}</li>
        </ul>
    }
}
