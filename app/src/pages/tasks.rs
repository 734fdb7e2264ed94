//! Task management: the node list with filters, and the graph of a workflow's definitions with
//! their dependency edges. Right-click a node (or use ⋯) to test, backfill, edit or pause it.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{fetch_definition_graph, fetch_nodes, fetch_workflows};
use crate::components::context::{Dialog, NodeTarget, Ui, node_href};
use crate::components::node_actions::{NodeActionsButton, open_node_menu};
use crate::components::paged::{Page, PagedTable};
use crate::flow::{DefinitionGraph, NODE_HEIGHT, NODE_WIDTH};
use crate::i18n::{Locale, td_string};
use crate::lang::locale;
use crate::model::url_encode;
use crate::nodes::{Node, NodeQuery};
use crate::pages::flow::{EdgeLine, box_label, edge_markup};
use crate::pages::markup::{escape, px};
use crate::schedule_words::describe;

fn target_of(node: &Node) -> NodeTarget {
    NodeTarget {
        name: node.spec.name.clone(),
        owner: node.spec.owner.clone(),
        paused: node.spec.paused,
    }
}

fn query_string(query: &NodeQuery) -> String {
    let pairs: Vec<String> =
        [("name", &query.name), ("owner", &query.owner), ("workflow", &query.workflow)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", url_encode(v))))
            .collect();
    format!("/tasks?{}", pairs.join("&"))
}

#[component]
pub fn TasksPage() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|q| {
            let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
            NodeQuery {
                name: get("name"),
                owner: get("owner"),
                workflow: get("workflow"),
                after: None,
                limit: None,
            }
        })
    });
    let nodes = Resource::new(move || (query.get(), ui.tick.get()), |(q, _)| fetch_nodes(q));
    // Viewers see no way to create or test: they may do neither.
    let may_define = move || ui.actor().is_some_and(|a| crate::rules::may_operate(&a));
    let workflows = Resource::new(|| (), |_| fetch_workflows());
    let navigate = use_navigate();
    let go = move |next: NodeQuery| navigate(&query_string(&next), NavigateOptions::default());
    let field = {
        let go = go.clone();
        move |label: &'static str, key: &'static str| {
            let go = go.clone();
            let value = move || {
                // A string, never `None`: the browser would show an absent value as "undefined".
                query
                    .with(|q| match key {
                        "name" => q.name.clone(),
                        _ => q.owner.clone(),
                    })
                    .unwrap_or_default()
            };
            let change = move |ev: leptos::ev::Event| {
                let text = event_target_value(&ev).trim().to_string();
                let mut next = query.get_untracked();
                let text = (!text.is_empty()).then_some(text);
                if key == "name" {
                    next.name = text
                } else {
                    next.owner = text
                }
                go(next);
            };
            view! {
                <label for=format!("task-{key}")>{label}</label>
                <input id=format!("task-{key}") type="search" prop:value=value on:change=change/>
            }
        }
    };
    let pick_workflow = {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            let workflow = event_target_value(&ev);
            go(NodeQuery {
                workflow: (!workflow.is_empty()).then_some(workflow),
                ..query.get_untracked()
            });
        }
    };
    view! {
        <section class="page">
            <div class="page-head">
                <h1>{td_string!(l, tasks.list.title)}</h1>
                <div class="head-actions">
                    {move || query.get().workflow.filter(|_| may_define()).map(|w| {
                        view! {
                            <button type="button" data-workflow-test=w.clone() on:click=move |_| {
                                ui.dialog.set(Some(Dialog::Test { node: None, workflow: Some(w.clone()) }))
                            }>{td_string!(l, tasks.list.test_workflow)}</button>
                        }
                    })}
                    <Show when=may_define>
                        <a class="button primary-link" href="/tasks/new">{td_string!(l, tasks.list.new_node)}</a>
                    </Show>
                </div>
            </div>
            <form class="filters" on:submit=|ev| ev.prevent_default()>
                <div class="fields tasks">
                    {field(td_string!(l, tasks.list.filter.name), "name")}
                    {field(td_string!(l, tasks.list.filter.owner), "owner")}
                    <label for="task-workflow">{td_string!(l, tasks.list.filter.workflow)}</label>
                    <Transition fallback=|| view! { <select id="task-workflow" disabled=true></select> }>
                        <select id="task-workflow" on:change=pick_workflow.clone()>
                            <option value="">{td_string!(l, tasks.list.filter.any)}</option>
                            {move || Suspend::new(async move {
                                let chosen = query.get().workflow.unwrap_or_default();
                                workflows.await.unwrap_or_default().into_iter().map(|(name, count)| {
                                    let selected = name == chosen;
                                    view! { <option value=name.clone() selected=selected>{format!("{name} ({count})")}</option> }
                                }).collect_view()
                            })}
                        </select>
                    </Transition>
                </div>
            </form>
            <div class="card">
                <Transition fallback=move || view! { <p class="loading">{td_string!(l, tasks.list.loading)}</p> }>
                    {move || Suspend::new(async move {
                        match nodes.await {
                            Ok(page) => Either::Left(view! { <NodeTable first=page.items next=page.next_cursor query=query.get_untracked()/> }),
                            Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                        }
                    })}
                </Transition>
            </div>
            {move || match query.get().workflow {
                Some(workflow) => Either::Left(view! { <WorkflowGraph workflow/> }),
                None => Either::Right(view! { <p class="muted hint-box">{td_string!(l, tasks.list.pick_workflow)}</p> }),
            }}
        </section>
    }
}

#[component]
fn NodeTable(first: Vec<Node>, next: Option<String>, query: NodeQuery) -> impl IntoView {
    let l = locale();
    let fetch = move |after: String| {
        let query = NodeQuery { after: Some(after), ..query.clone() };
        async move {
            let page = fetch_nodes(query).await?;
            Ok(Page { items: page.items, next_cursor: page.next_cursor })
        }
    };
    let row = move |node: Node| {
        let target = target_of(&node);
        let menu_target = target.clone();
        view! {
            <tr data-node=node.spec.name.clone() on:contextmenu=move |ev: leptos::ev::MouseEvent| {
                ev.prevent_default();
                open_node_menu(menu_target.clone(), ev.client_x(), ev.client_y());
            }>
                <td class="node"><a href=node_href(&node.spec.name)>{node.spec.name.clone()}</a></td>
                <td>{node.spec.workflow.clone()}</td>
                <td>{node.spec.owner.clone()}</td>
                <td title=node.spec.schedule.clone()>{describe(l, &node.spec.schedule)}</td>
                <td class="num">{node.spec.upstream.len()}</td>
                <td>{node.spec.resource_group.clone()}</td>
                <td>{if node.spec.paused {
                    Either::Left(view! { <span class="badge paused">{td_string!(l, common.state.paused_badge)}</span> })
                } else {
                    Either::Right(view! { <span class="badge state-success">{td_string!(l, tasks.list.normal)}</span> })
                }}</td>
                <td class="actions-col"><NodeActionsButton target/></td>
            </tr>
        }
    };
    view! {
        <PagedTable first next fetch key=|n: &Node| (n.id, n.updated_at) row class="nodes"
            empty=td_string!(l, tasks.list.empty)>
            <tr>
                <th>{td_string!(l, tasks.list.column.node)}</th>
                <th>{td_string!(l, tasks.list.column.workflow)}</th>
                <th>{td_string!(l, tasks.list.column.owner)}</th>
                <th>{td_string!(l, tasks.list.column.schedule)}</th>
                <th class="num">{td_string!(l, tasks.list.column.upstream)}</th>
                <th>{td_string!(l, tasks.list.column.resource_group)}</th>
                <th>{td_string!(l, tasks.list.column.status)}</th>
                <th></th>
            </tr>
        </PagedTable>
    }
}

/// The markup of the definition graph (drawn like the flow view, for nodes).
fn graph_markup(l: Locale, graph: &DefinitionGraph, workflow: &str) -> String {
    let (w, h) = (px(NODE_WIDTH), px(NODE_HEIGHT));
    let mut out = String::new();
    edge_markup(
        &mut out,
        graph.edges.iter().enumerate().map(|(k, &(up, down))| {
            let (a, b) = (&graph.nodes[up as usize], &graph.nodes[down as usize]);
            EdgeLine {
                from: a.name.clone(),
                to: b.name.clone(),
                a: (a.x, a.y),
                b: (b.x, b.y),
                bends: graph.bends.get(k).map_or(&[], Vec::as_slice),
                critical: false,
            }
        }),
    );
    for node in &graph.nodes {
        let outside = node.workflow != workflow;
        let (name, wf, owner) = (escape(&node.name), escape(&node.workflow), escape(&node.owner));
        let title = if node.paused {
            td_string!(
                l,
                tasks.graph.box_title_paused,
                name = &name,
                workflow = &wf,
                owner = &owner
            )
        } else {
            td_string!(l, tasks.graph.box_title, name = &name, workflow = &wf, owner = &owner)
        };
        out.push_str(&format!(
            r#"<g class="fnode definition{}{}" data-node="{name}" transform="translate({x} {y})"><title>{title}</title><rect width="{w}" height="{h}" rx="7"/><text x="10" y="{ty}">{label}</text></g>"#,
            if node.paused { " paused" } else { "" },
            if outside { " outside" } else { "" },
            label = escape(&box_label(&node.name)),
            x = px(node.x),
            y = px(node.y),
            ty = h / 2 + 5,
        ));
    }
    out
}

#[component]
fn WorkflowGraph(workflow: String) -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let name = workflow.clone();
    let graph = LocalResource::new(move || {
        let _ = ui.tick.get();
        fetch_definition_graph(name.clone())
    });
    view! {
        <div class="card">
            <h2>{td_string!(l, tasks.graph.title, workflow = workflow.clone())}</h2>
            <Transition fallback=move || view! { <p class="loading">{td_string!(l, tasks.graph.laying_out)}</p> }>
                {move || {
                    let workflow = workflow.clone();
                    Suspend::new(async move {
                        match graph.await {
                            Ok(graph) => {
                                let (vw, vh) = ((graph.width + 40.0) as i64, (graph.height + 40.0) as i64);
                                let content = graph_markup(l, &graph, &workflow);
                                let nodes: Vec<NodeTarget> = graph.nodes.iter().map(|n| NodeTarget { name: n.name.clone(), owner: n.owner.clone(), paused: n.paused }).collect();
                                let on_menu = move |ev: leptos::ev::MouseEvent| {
                                    if let Some(name) = clicked_node(&ev)
                                        && let Some(target) = nodes.iter().find(|n| n.name == name) {
                                            ev.prevent_default();
                                            open_node_menu(target.clone(), ev.client_x(), ev.client_y());
                                        }
                                };
                                Either::Left(view! {
                                    <div class="graph-frame">
                                        <svg class="flow definitions" viewBox=format!("-20 -20 {vw} {vh}") width=vw height=vh on:contextmenu=on_menu>
                                            <g inner_html=content></g>
                                        </svg>
                                    </div>
                                })
                            }
                            Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                        }
                    })
                }}
            </Transition>
        </div>
    }
}

fn clicked_node(ev: &leptos::ev::MouseEvent) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let element = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
        element.closest("[data-node]").ok()??.get_attribute("data-node")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        None
    }
}
