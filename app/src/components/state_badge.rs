use leptos::prelude::*;

use crate::i18n::td_string;
use crate::lang::locale;
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
pub fn StateBadge(
    state: InstanceState,
    #[prop(optional)] paused: bool,
    /// A dry run (a holiday of its node's calendar): it succeeds without running the command.
    #[prop(optional)]
    dry_run: bool,
) -> impl IntoView {
    let l = locale();
    view! {
        <span class=format!("badge state-{}", state.as_str()) data-state=state.as_str()>
            <span class="icon" aria-hidden="true">{state_icon(state)}</span>
            <span class="label">{state.label(l)}</span>
        </span>
        {paused.then(|| view! {
            <span class="badge paused" title=td_string!(l, common.state.paused_title)>
                {td_string!(l, common.state.paused_badge)}
            </span>
        })}
        {dry_run.then(|| view! {
            <span class="badge dry-run" data-dry-run="true" title=td_string!(l, common.state.dry_run_title)>
                {td_string!(l, common.state.dry_run_badge)}
            </span>
        })}
    }
}
