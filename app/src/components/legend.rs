use leptos::prelude::*;

use super::state_badge::state_icon;
use crate::model::InstanceState;

/// The states with their colours and icons.
#[component]
pub fn StateLegend() -> impl IntoView {
    view! {
        <ul class="legend" aria-label="state legend">
            {InstanceState::ALL
                .into_iter()
                .map(|state| {
                    view! {
                        <li class=format!("badge state-{}", state.as_str())>
                            <span class="icon" aria-hidden="true">{state_icon(state)}</span>
                            {state.label()}
                        </li>
                    }
                })
                .collect_view()}
            <li class="badge paused">"‖ paused"</li>
        </ul>
    }
}
