//! The flow view's graph: the instances around one instance and a left-to-right layered layout
//! (layer = longest path from the sources, order within a layer by the barycentre of the
//! neighbours, two sweeps). An edge that spans several layers gets a slot of its own in each
//! layer it crosses (a "dummy" node of the Sugiyama method), so it never passes behind a box:
//! its bends are those slots. Pure and shared: the server lays out, the browser draws.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{InstanceId, InstanceState};

pub const NODE_WIDTH: f32 = 200.0;
pub const NODE_HEIGHT: f32 = 36.0;
const COLUMN_GAP: f32 = 70.0;
const ROW_GAP: f32 = 14.0;

/// An instance as the flow view needs it (what the rules need for the right-click menu, too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowInstance {
    pub id: InstanceId,
    pub node: String,
    pub owner: String,
    pub state: InstanceState,
    pub paused: bool,
    /// Its run date, when it is not the flow's centre's: a cycle before or after, linked by a
    /// cross-cycle dependency (`depends_on_previous`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_date: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowNode {
    pub instance: FlowInstance,
    pub layer: u32,
    pub x: f32,
    pub y: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowGraph {
    pub center: InstanceId,
    pub nodes: Vec<FlowNode>,
    /// `(upstream, downstream)` as indexes into `nodes`.
    pub edges: Vec<(u32, u32)>,
    /// Per edge, the top of its slot in each layer it crosses (none between neighbours).
    #[serde(default)]
    pub bends: Vec<Vec<f32>>,
    pub width: f32,
    pub height: f32,
    /// Some instances around were left out (too many).
    pub truncated: bool,
}

/// Lays out `instances` with the dependency `edges` `(upstream, downstream)` among them.
pub fn layout(
    center: InstanceId,
    instances: Vec<FlowInstance>,
    edges: &[(InstanceId, InstanceId)],
    truncated: bool,
) -> FlowGraph {
    let index: HashMap<InstanceId, usize> =
        instances.iter().enumerate().map(|(i, inst)| (inst.id, i)).collect();
    let pairs: Vec<(usize, usize)> = edges
        .iter()
        .filter_map(|(up, down)| Some((*index.get(up)?, *index.get(down)?)))
        .filter(|(u, d)| u != d)
        .collect();
    let placed = positions(instances.len(), &pairs, |i| instances[i].id.0);
    let nodes = instances
        .into_iter()
        .zip(placed.points)
        .map(|(instance, (layer, x, y))| FlowNode { instance, layer, x, y })
        .collect();
    FlowGraph {
        center,
        nodes,
        edges: pairs.into_iter().map(|(u, d)| (u as u32, d as u32)).collect(),
        bends: placed.bends,
        width: placed.width,
        height: placed.height,
        truncated,
    }
}

/// Where the items of a DAG go: `(layer, x, y)` per item, the bends of each edge (the `y` of
/// its slot in each layer it crosses, left to right) and the drawing's size.
pub struct Placement {
    pub points: Vec<(u32, f32, f32)>,
    pub bends: Vec<Vec<f32>>,
    pub width: f32,
    pub height: f32,
}

/// The layered layout of `n` items with `edges` `(upstream, downstream)` as indexes; `key`
/// gives the starting order within a layer.
pub fn positions(n: usize, edges: &[(usize, usize)], key: impl Fn(usize) -> i64) -> Placement {
    let mut preds = vec![Vec::new(); n];
    let mut succs = vec![Vec::new(); n];
    for &(u, d) in edges {
        preds[d].push(u);
        succs[u].push(d);
    }

    // Longest path from the sources, in topological order (Kahn).
    let mut layer = vec![0u32; n];
    let mut indegree: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    while let Some(at) = ready.pop() {
        for &next in &succs[at] {
            layer[next] = layer[next].max(layer[at] + 1);
            indegree[next] -= 1;
            if indegree[next] == 0 {
                ready.push(next);
            }
        }
    }

    // A slot for a long edge in every layer it crosses: items n.. of the layered graph, chained
    // from the upstream item to the downstream one.
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    let mut owner: Vec<usize> = (0..n).collect();
    let (mut preds_all, mut succs_all) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    for &(u, d) in edges {
        let mut chain = Vec::new();
        let mut previous = u;
        for crossed in layer[u] + 1..layer[d] {
            let slot = layer.len();
            layer.push(crossed);
            owner.push(u);
            preds_all.push(vec![previous]);
            succs_all.push(Vec::new());
            succs_all[previous].push(slot);
            chain.push(slot);
            previous = slot;
        }
        succs_all[previous].push(d);
        preds_all[d].push(previous);
        chains.push(chain);
    }
    let total = layer.len();

    let layers = layer.iter().copied().max().map_or(0, |l| l as usize + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); layers];
    let mut order: Vec<usize> = (0..total).collect();
    // A slot starts next to the item its edge comes from.
    order.sort_by_key(|&i| (key(owner[i]), i));
    for i in order {
        columns[layer[i] as usize].push(i);
    }

    // Barycentre sweeps: down using predecessors, up using successors.
    let mut position = vec![0f32; total];
    let place = |columns: &Vec<Vec<usize>>, position: &mut Vec<f32>| {
        for column in columns {
            for (p, &i) in column.iter().enumerate() {
                position[i] = p as f32;
            }
        }
    };
    place(&columns, &mut position);
    for _ in 0..2 {
        for l in 1..layers {
            sort_by_barycentre(&mut columns[l], &preds_all, &position);
            place(&columns, &mut position);
        }
        for l in (0..layers.saturating_sub(1)).rev() {
            sort_by_barycentre(&mut columns[l], &succs_all, &position);
            place(&columns, &mut position);
        }
    }

    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0);
    let row = NODE_HEIGHT + ROW_GAP;
    let mut points = vec![(0, 0f32, 0f32); total];
    for (l, column) in columns.iter().enumerate() {
        let offset = (tallest - column.len()) as f32 * row / 2.0;
        for (p, &i) in column.iter().enumerate() {
            points[i] = (layer[i], l as f32 * (NODE_WIDTH + COLUMN_GAP), offset + p as f32 * row);
        }
    }
    let bends = chains.iter().map(|chain| chain.iter().map(|&slot| points[slot].2).collect());
    let bends = bends.collect();
    points.truncate(n);
    Placement {
        points,
        bends,
        width: (layers as f32 * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP).max(0.0),
        height: (tallest as f32 * row - ROW_GAP).max(0.0),
    }
}

/// The horizontal distance from one layer to the next.
pub const LAYER_STEP: f32 = NODE_WIDTH + COLUMN_GAP;

/// A node of the definition graph (task management), placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefinitionNode {
    pub name: String,
    pub workflow: String,
    pub owner: String,
    pub paused: bool,
    pub x: f32,
    pub y: f32,
}

/// The definitions of a workflow (with the upstream nodes it reaches in other workflows) and
/// their dependencies, laid out like the flow view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefinitionGraph {
    pub nodes: Vec<DefinitionNode>,
    /// `(upstream, downstream)` as indexes into `nodes`.
    pub edges: Vec<(u32, u32)>,
    /// Per edge, the top of its slot in each layer it crosses (none between neighbours).
    #[serde(default)]
    pub bends: Vec<Vec<f32>>,
    pub width: f32,
    pub height: f32,
    pub truncated: bool,
}

/// Lays out definitions: `nodes` as (name, workflow, owner, paused), `edges` as names.
pub fn layout_definitions(
    nodes: Vec<(String, String, String, bool)>,
    edges: &[(String, String)],
    truncated: bool,
) -> DefinitionGraph {
    let index: HashMap<&str, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.0.as_str(), i)).collect();
    let pairs: Vec<(usize, usize)> = edges
        .iter()
        .filter_map(|(up, down)| Some((*index.get(up.as_str())?, *index.get(down.as_str())?)))
        .filter(|(u, d)| u != d)
        .collect();
    let placed = positions(nodes.len(), &pairs, |i| i as i64);
    DefinitionGraph {
        nodes: nodes
            .into_iter()
            .zip(placed.points)
            .map(|((name, workflow, owner, paused), (_, x, y))| DefinitionNode {
                name,
                workflow,
                owner,
                paused,
                x,
                y,
            })
            .collect(),
        edges: pairs.into_iter().map(|(u, d)| (u as u32, d as u32)).collect(),
        bends: placed.bends,
        width: placed.width,
        height: placed.height,
        truncated,
    }
}

fn sort_by_barycentre(column: &mut [usize], neighbours: &[Vec<usize>], position: &[f32]) {
    let key = |i: usize| {
        let around = &neighbours[i];
        if around.is_empty() {
            position[i]
        } else {
            around.iter().map(|&j| position[j]).sum::<f32>() / around.len() as f32
        }
    };
    let mut keyed: Vec<(f32, usize)> = column.iter().map(|&i| (key(i), i)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (slot, (_, i)) in column.iter_mut().zip(keyed) {
        *slot = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(id: i64) -> FlowInstance {
        FlowInstance {
            id: InstanceId(id),
            node: format!("n{id}"),
            owner: "o".into(),
            state: InstanceState::NotRun,
            paused: false,
            run_date: None,
        }
    }

    fn edge(u: i64, d: i64) -> (InstanceId, InstanceId) {
        (InstanceId(u), InstanceId(d))
    }

    #[test]
    fn a_chain_goes_left_to_right() {
        let graph = layout(
            InstanceId(1),
            (1..=4).map(inst).collect(),
            &[edge(1, 2), edge(2, 3), edge(3, 4)],
            false,
        );
        let layers: Vec<u32> = graph.nodes.iter().map(|n| n.layer).collect();
        assert_eq!(layers, vec![0, 1, 2, 3]);
        assert!(graph.nodes.windows(2).all(|w| w[0].x < w[1].x));
        assert!(graph.nodes.iter().all(|n| n.y == 0.0));
        assert_eq!(graph.edges.len(), 3);
    }

    #[test]
    fn a_node_sits_one_layer_after_its_deepest_upstream() {
        // 1 → 2 → 3 and 1 → 3: 3 is on layer 2, not 1.
        let graph = layout(
            InstanceId(1),
            (1..=3).map(inst).collect(),
            &[edge(1, 2), edge(2, 3), edge(1, 3)],
            false,
        );
        assert_eq!(graph.nodes[2].layer, 2);
    }

    #[test]
    fn crossings_are_undone_by_the_barycentre_sweep() {
        // Two parallel chains given in crossing order: 1→4, 2→3.
        let graph =
            layout(InstanceId(1), (1..=4).map(inst).collect(), &[edge(1, 4), edge(2, 3)], false);
        let y = |id: i64| graph.nodes.iter().find(|n| n.instance.id == InstanceId(id)).unwrap().y;
        assert!(y(1) < y(2));
        assert!(y(4) < y(3), "4 follows 1 to the top");
    }

    /// Whether the horizontal band of an edge's slot at `y` is free of boxes in that layer.
    fn slot_is_free(graph: &FlowGraph, layer: u32, y: f32) -> bool {
        graph.nodes.iter().filter(|n| n.layer == layer).all(|n| (n.y - y).abs() >= NODE_HEIGHT)
    }

    #[test]
    fn a_long_edge_goes_around_the_boxes_of_the_layers_it_crosses() {
        // 1 → 2 → 3 → 4 and 1 → 4, 5 → 2: the edge 1 → 4 crosses layers 1 and 2, where 2 and 3
        // sit; it gets slots of its own there.
        let graph = layout(
            InstanceId(1),
            (1..=5).map(inst).collect(),
            &[edge(1, 2), edge(2, 3), edge(3, 4), edge(1, 4), edge(5, 2)],
            false,
        );
        assert_eq!(graph.bends.len(), graph.edges.len());
        let long = graph.edges.iter().position(|&(u, d)| (u, d) == (0, 3)).unwrap();
        assert_eq!(graph.bends[long].len(), 2, "one slot in each crossed layer");
        for (k, y) in graph.bends[long].iter().enumerate() {
            assert!(slot_is_free(&graph, k as u32 + 1, *y), "layer {}: {y} {graph:?}", k + 1);
        }
        for (edge, bends) in graph.edges.iter().zip(&graph.bends) {
            if *edge != (0, 3) {
                assert!(bends.is_empty(), "{edge:?} joins neighbouring layers");
            }
        }
        assert!(graph.nodes.iter().all(|n| n.y + NODE_HEIGHT <= graph.height + 0.01));
    }

    #[test]
    fn two_thousand_nodes_lay_out_within_bounds() {
        let instances: Vec<FlowInstance> = (1..=2000).map(inst).collect();
        let edges: Vec<_> = (2..=2000).map(|i| edge(i / 2, i)).collect();
        let graph = layout(InstanceId(1), instances, &edges, false);
        assert_eq!(graph.nodes.len(), 2000);
        assert!(graph.nodes.iter().all(|n| n.x <= graph.width && n.y <= graph.height));
    }
}
