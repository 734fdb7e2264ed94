//! The flow view: the instances around one instance, laid out left to right by dependency
//! level, coloured by state, with pan and zoom and the same right-click menu. The graph is drawn
//! as one SVG fragment (built here, inserted once), so two thousand nodes stay quick to render.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::detail::id_param;
use super::markup::{escape, px};
use crate::api::fetch_flow;
use crate::components::actions::open_menu;
use crate::components::context::{Ui, detail_href};
use crate::components::legend::StateLegend;
use crate::components::state_badge::state_icon;
use crate::flow::{FlowGraph, LAYER_STEP, NODE_HEIGHT, NODE_WIDTH};
use crate::i18n::{Locale, td_string};
use crate::lang::locale;

const VIEW_W: f64 = 1200.0;
const VIEW_H: f64 = 640.0;

#[component]
pub fn FlowPage() -> impl IntoView {
    let l = locale();
    let ui = Ui::get();
    let id = id_param();
    // The zoom and pan people chose, kept while live updates redraw the graph around the same
    // instance (only the colours change then).
    let kept = StoredValue::new(None::<Kept>);
    // `?highlight=1,2,3`: a baseline's critical path.
    let query = use_query_map();
    let highlight = Memo::new(move |_| {
        query.with(|q| {
            q.get("highlight")
                .map(|ids| ids.split(',').filter_map(|id| id.trim().parse::<i64>().ok()).collect())
                .unwrap_or_default()
        })
    });
    let graph = LocalResource::new(move || {
        let _ = ui.tick.get();
        let id = id.get();
        async move {
            match id {
                Some(id) => fetch_flow(id).await,
                None => Err(super::detail::not_an_instance()),
            }
        }
    });
    view! {
        <section class="page flow-page">
            <div class="page-head">
                <h1>
                    // "Flow around #12" / "#12 的上下游依赖图": the words around the link, when
                    // there are any.
                    {Some(td_string!(l, detail.flow.title_before)).filter(|t| !t.is_empty())}
                    {move || id.get().map(|id| view! { <a href=detail_href(id)>"#"{id.0}</a> })}
                    {Some(td_string!(l, detail.flow.title_after)).filter(|t| !t.is_empty())}
                </h1>
                <StateLegend/>
            </div>
            <Transition fallback=move || view! { <div class="flow-frame"><p class="loading">{td_string!(l, detail.flow.loading)}</p></div> }>
                {move || Suspend::new(async move {
                    match graph.await {
                        Ok(graph) => Either::Left(view! { <FlowCanvas graph kept highlight=highlight.get()/> }),
                        Err(e) => Either::Right(view! { <p class="error" role="alert">{e.describe(l)}</p> }),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A node name that fits a box: long names lose their middle, since prefixes and suffixes are
/// what tells nodes apart.
pub(crate) fn box_label(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() > 24 {
        chars[..11].iter().chain(['…'].iter()).chain(chars[chars.len() - 12..].iter()).collect()
    } else {
        name.to_string()
    }
}

/// One edge to draw: the names of its ends (for `data-from`/`data-to`), the top-left corners
/// of their boxes, and the tops of the slots it passes through in the layers between.
pub(crate) struct EdgeLine<'a> {
    pub from: String,
    pub to: String,
    pub a: (f32, f32),
    pub b: (f32, f32),
    pub bends: &'a [f32],
    /// On a baseline's critical path (drawn stronger).
    pub critical: bool,
}

/// The edges of a layered drawing: from the right side of `a`, through its own slot in each
/// layer it crosses (never behind a box), to the left side of `b`; curves only in the gaps
/// between layers.
pub(crate) fn edge_markup<'a>(out: &mut String, edges: impl Iterator<Item = EdgeLine<'a>>) {
    let (w, h) = (px(NODE_WIDTH), px(NODE_HEIGHT));
    let step = px(LAYER_STEP);
    for edge in edges {
        let (mut x1, mut y1) = (px(edge.a.0) + w, px(edge.a.1) + h / 2);
        let mut d = format!("M{x1} {y1}");
        let curve = |d: &mut String, x1: i64, y1: i64, x2: i64, y2: i64| {
            let bend = ((x2 - x1) / 2).max(12);
            d.push_str(&format!(" C{} {y1} {} {y2} {x2} {y2}", x1 + bend, x2 - bend));
        };
        for (k, top) in edge.bends.iter().enumerate() {
            let x = px(edge.a.0) + step * (k as i64 + 1);
            let y = px(*top) + h / 2;
            curve(&mut d, x1, y1, x, y);
            d.push_str(&format!(" L{} {y}", x + w));
            (x1, y1) = (x + w, y);
        }
        curve(&mut d, x1, y1, px(edge.b.0), px(edge.b.1) + h / 2);
        out.push_str(&format!(
            r#"<path class="fedge{}" data-from="{}" data-to="{}" d="{d}"/>"#,
            if edge.critical { " critical" } else { "" },
            escape(&edge.from),
            escape(&edge.to)
        ));
    }
}

/// The SVG fragment of the graph: edges first, then nodes (their titles in the page's language);
/// the instances of `highlight` (a baseline's critical path) and the edges between them stand
/// out.
pub fn markup(l: Locale, graph: &FlowGraph, highlight: &[i64]) -> String {
    let mut out = String::with_capacity(graph.nodes.len() * 320 + graph.edges.len() * 90);
    let (w, h) = (px(NODE_WIDTH), px(NODE_HEIGHT));
    edge_markup(
        &mut out,
        graph.edges.iter().enumerate().map(|(k, &(up, down))| {
            let (a, b) = (&graph.nodes[up as usize], &graph.nodes[down as usize]);
            EdgeLine {
                from: a.instance.id.to_string(),
                to: b.instance.id.to_string(),
                a: (a.x, a.y),
                b: (b.x, b.y),
                bends: graph.bends.get(k).map_or(&[], Vec::as_slice),
                critical: highlight.contains(&a.instance.id.0)
                    && highlight.contains(&b.instance.id.0),
            }
        }),
    );
    for node in &graph.nodes {
        let i = &node.instance;
        // Another cycle's instance (a cross-cycle dependency) shows its run date first.
        let name = match i.run_date {
            Some(day) => box_label(&format!("{} {}", day.format("%m-%d"), i.node)),
            None => box_label(&i.node),
        };
        let classes = format!(
            "fnode state-{}{}{}{}",
            i.state.as_str(),
            if i.paused { " paused" } else { "" },
            if i.run_date.is_some() { " other-cycle" } else { "" },
            if i.id == graph.center { " center" } else { "" }
        ) + if highlight.contains(&i.id.0) { " critical" } else { "" };
        // The node's name first: "<node> #<id> — <state>[, paused]".
        let node_name = match i.run_date {
            Some(day) => td_string!(l, detail.waiting.node_of, node = &i.node, day),
            None => i.node.clone(),
        };
        let (node_name, state_label) = (node_name.as_str(), i.state.label(l));
        let title = if i.paused {
            td_string!(
                l,
                detail.flow.node_title_paused,
                node = node_name,
                id = i.id.0,
                state = state_label
            )
        } else {
            td_string!(
                l,
                detail.flow.node_title,
                node = node_name,
                id = i.id.0,
                state = state_label
            )
        };
        out.push_str(&format!(
            r#"<g class="{classes}" data-id="{id}" data-state="{state}" transform="translate({x} {y})"><title>{title}</title><rect width="{w}" height="{h}" rx="7"/><text x="10" y="{ty}">{icon} {name}</text></g>"#,
            id = i.id.0,
            state = i.state.as_str(),
            x = px(node.x),
            y = px(node.y),
            title = escape(&title),
            ty = h / 2 + 5,
            icon = state_icon(i.state),
            name = escape(&name),
        ));
    }
    out
}

/// The view of a graph: around which instance, at what scale, moved how far.
type Kept = (crate::model::InstanceId, f64, (f64, f64));

#[component]
fn FlowCanvas(
    graph: FlowGraph,
    kept: StoredValue<Option<Kept>>,
    highlight: Vec<i64>,
) -> impl IntoView {
    let l = locale();
    let navigate = use_navigate();
    let fit = (VIEW_W / (graph.width as f64 + 40.0))
        .min(VIEW_H / (graph.height as f64 + 40.0))
        .clamp(0.05, 1.2);
    // Centred in the frame at the fitting scale.
    let centred =
        ((VIEW_W - graph.width as f64 * fit) / 2.0, (VIEW_H - graph.height as f64 * fit) / 2.0);
    let center = graph.center;
    let (start_scale, start_offset) = kept
        .get_value()
        .filter(|(around, ..)| *around == center)
        .map_or((fit, centred), |(_, scale, offset)| (scale, offset));
    let scale = RwSignal::new(start_scale);
    let offset = RwSignal::new(start_offset);
    Effect::new(move |_| kept.set_value(Some((center, scale.get(), offset.get()))));
    let dragging = StoredValue::new(None::<(f64, f64, (f64, f64))>);
    let count = graph.nodes.len();
    let truncated = graph.truncated;
    let content = markup(l, &graph, &highlight);
    let instances: std::collections::HashMap<i64, crate::flow::FlowInstance> =
        graph.nodes.iter().map(|n| (n.instance.id.0, n.instance.clone())).collect();
    let instances = StoredValue::new(instances);

    let transform = move || {
        let (x, y) = offset.get();
        let k = (scale.get() * 10_000.0).round() as i64;
        format!(
            "translate({} {}) scale({}.{:04})",
            x.round() as i64,
            y.round() as i64,
            k / 10_000,
            k % 10_000
        )
    };
    let zoom = move |factor: f64, cx: f64, cy: f64| {
        let old = scale.get_untracked();
        let new = (old * factor).clamp(0.03, 4.0);
        let (x, y) = offset.get_untracked();
        // Keep the point under the cursor where it is.
        offset.set((cx - (cx - x) * new / old, cy - (cy - y) * new / old));
        scale.set(new);
    };
    let node_at = move |ev: &leptos::ev::MouseEvent| -> Option<crate::flow::FlowInstance> {
        let id = clicked_id(ev)?;
        instances.with_value(|all| all.get(&id).cloned())
    };
    let on_menu = move |ev: leptos::ev::MouseEvent| {
        if let Some(target) = node_at(&ev) {
            ev.prevent_default();
            open_menu(target, ev.client_x(), ev.client_y());
        }
    };
    let on_double = move |ev: leptos::ev::MouseEvent| {
        if let Some(target) = node_at(&ev) {
            navigate(&detail_href(target.id), Default::default());
        }
    };
    let to_view = move |ev: &leptos::ev::MouseEvent| -> (f64, f64) { view_point(ev) };
    let on_down = move |ev: leptos::ev::MouseEvent| {
        if ev.button() == 0 {
            let (x, y) = to_view(&ev);
            dragging.set_value(Some((x, y, offset.get_untracked())));
        }
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        if let Some((sx, sy, (ox, oy))) = dragging.get_value() {
            let (x, y) = to_view(&ev);
            offset.set((ox + x - sx, oy + y - sy));
        }
    };
    let on_up = move |_| dragging.set_value(None);
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        let (x, y) = to_view(&ev);
        zoom(if ev.delta_y() < 0.0 { 1.15 } else { 1.0 / 1.15 }, x, y);
    };
    let reset = move |_| {
        scale.set(fit);
        offset.set(centred);
    };
    view! {
        <div class="flow-toolbar">
            <span class="muted">{td_string!(l, detail.flow.count, count)}{truncated.then_some(td_string!(l, detail.flow.truncated))}</span>
            <span class="muted hint">{td_string!(l, detail.flow.hint)}</span>
            <span class="spacer"></span>
            <button type="button" aria-label=td_string!(l, detail.flow.zoom_in) on:click=move |_| zoom(1.25, VIEW_W / 2.0, VIEW_H / 2.0)>"+"</button>
            <button type="button" aria-label=td_string!(l, detail.flow.zoom_out) on:click=move |_| zoom(0.8, VIEW_W / 2.0, VIEW_H / 2.0)>"−"</button>
            <button type="button" on:click=reset>{td_string!(l, detail.flow.fit)}</button>
        </div>
        <div class="flow-frame">
            <svg
                class="flow"
                viewBox="0 0 1200 640"
                data-nodes=count
                on:contextmenu=on_menu
                on:dblclick=on_double
                on:mousedown=on_down
                on:mousemove=on_move
                on:mouseup=on_up
                on:mouseleave=on_up
                on:wheel=on_wheel
            >
                <g class="flow-content" transform=transform inner_html=content></g>
            </svg>
        </div>
    }
}

/// The instance id of the node under the pointer.
fn clicked_id(ev: &leptos::ev::MouseEvent) -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let element = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
        let node = element.closest("[data-id]").ok()??;
        node.get_attribute("data-id")?.parse().ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        None
    }
}

/// The pointer in the SVG's view-box coordinates.
fn view_point(ev: &leptos::ev::MouseEvent) -> (f64, f64) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(svg) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
            let rect = svg.get_bounding_client_rect();
            if rect.width() > 0.0 {
                let k = (VIEW_W / rect.width()).max(VIEW_H / rect.height());
                return (
                    (ev.client_x() as f64 - rect.left()) * k,
                    (ev.client_y() as f64 - rect.top()) * k,
                );
            }
        }
    }
    (ev.client_x() as f64, ev.client_y() as f64)
}
