use leptos::prelude::*;

use crate::model::InstanceState;

/// An icon per state, so a state never depends on colour alone.
pub fn state_icon(state: InstanceState) -> &'static str {
    match state {
        InstanceState::NotRun => "○",
        InstanceState::WaitingTime => "◷",
        InstanceState::WaitingResources => "◑",
        InstanceState::Running => "▶",
        InstanceState::Success => "✔",
        InstanceState::Failed => "✖",
        InstanceState::Stopped => "■",
    }
}

#[component]
pub fn StateBadge(state: InstanceState, #[prop(optional)] paused: bool) -> impl IntoView {
    view! {
        <span class=format!("badge state-{}", state.as_str()) data-state=state.as_str()>
            <span class="icon" aria-hidden="true">{state_icon(state)}</span>
            {state.label()}
        </span>
        {paused.then(|| view! { <span class="badge paused" title="paused for this cycle">"‖ paused"</span> })}
    }
}
