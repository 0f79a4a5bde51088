//! What every executor plans the same way: validating a graph, and the lifetime of each value's
//! buffer (alias ops share their input's buffer; a buffer is recycled after its last reader).

use super::float::buffers::{Buf, BufPool};
use super::float::NodeTime;
use crate::error::shape_text;
use crate::ir::{Graph, Node, Op, Tensor, ValueId};
use crate::kernels::parallel;
use crate::{Error, Result};
use std::sync::Mutex;

fn malformed(what: String) -> Error {
    Error::MalformedModel(what)
}

/// Checks what `Graph::add_node` would have checked (the fields are public, so a graph can be
/// assembled by hand): ids in range, topological order, one output per node, and shapes.
pub(crate) fn validate(g: &Graph) -> Result<()> {
    let nv = g.values.len();
    let mut defined = vec![false; nv];
    for (v, t) in &g.constants {
        let value = g
            .values
            .get(*v)
            .ok_or_else(|| malformed(format!("constant id {v} out of range")))?;
        if t.shape() != value.shape.as_slice() {
            return Err(malformed(format!(
                "constant '{}' has shape {:?}, value says {:?}",
                value.name,
                t.shape(),
                value.shape
            )));
        }
        defined[*v] = true;
    }
    for &i in &g.inputs {
        match defined.get_mut(i) {
            Some(true) => {
                return Err(malformed(format!(
                    "'{}' is both a constant and an input",
                    g.values[i].name
                )))
            }
            Some(d) => *d = true,
            None => return Err(malformed(format!("graph input id {i} out of range"))),
        }
    }
    for node in &g.nodes {
        let mut shapes = Vec::with_capacity(node.inputs.len());
        for &i in &node.inputs {
            if !defined.get(i).copied().unwrap_or(false) {
                let what = g
                    .values
                    .get(i)
                    .map_or(format!("id {i}"), |v| format!("'{}'", v.name));
                return Err(malformed(format!(
                    "node '{}' reads {what} before it is computed",
                    node.name
                )));
            }
            shapes.push(g.values[i].shape.as_slice());
        }
        let expected = node
            .op
            .output_shapes(&shapes)
            .map_err(|what| Error::Shape {
                node: node.name.clone(),
                what,
            })?;
        if node.outputs.len() != expected.len() {
            return Err(Error::Shape {
                node: node.name.clone(),
                what: format!(
                    "{} outputs, op gives {}",
                    node.outputs.len(),
                    expected.len()
                ),
            });
        }
        for (&o, e) in node.outputs.iter().zip(&expected) {
            match defined.get(o) {
                Some(false) => {}
                Some(true) => {
                    return Err(malformed(format!(
                        "'{}' is written twice",
                        g.values[o].name
                    )))
                }
                None => {
                    return Err(malformed(format!(
                        "node '{}' writes id {o} out of range",
                        node.name
                    )))
                }
            }
            if &g.values[o].shape != e {
                return Err(Error::Shape {
                    node: node.name.clone(),
                    what: format!(
                        "output '{}' has shape {:?}, op gives {e:?}",
                        g.values[o].name, g.values[o].shape
                    ),
                });
            }
            defined[o] = true;
        }
    }
    for &o in &g.outputs {
        if !defined.get(o).copied().unwrap_or(false) {
            return Err(malformed(format!("graph output id {o} is never computed")));
        }
    }
    Ok(())
}

/// Checks that `inputs` are one tensor per graph input, each of exactly its shape.
pub(crate) fn check_inputs(g: &Graph, inputs: &[Tensor]) -> Result<()> {
    if inputs.len() != g.inputs.len() {
        let names: Vec<&str> = g
            .inputs
            .iter()
            .map(|&v| g.values[v].name.as_str())
            .collect();
        return Err(Error::Input(format!(
            "the model takes {} input(s) {names:?}, got {}",
            names.len(),
            inputs.len()
        )));
    }
    for (t, &v) in inputs.iter().zip(&g.inputs) {
        let value = &g.values[v];
        if t.shape() != value.shape.as_slice() {
            return Err(Error::Input(format!(
                "input '{}' expects shape {}, got {}",
                value.name,
                shape_text(&value.shape),
                shape_text(t.shape())
            )));
        }
    }
    Ok(())
}

/// Buffer sharing and lifetimes of a graph's values.
#[derive(Clone, Debug)]
pub(crate) struct Lifetimes {
    /// The value whose buffer holds each value (itself unless produced by an alias op).
    pub(crate) root: Vec<ValueId>,
    /// Buffers that live on: constants and graph outputs.
    pub(crate) pinned: Vec<bool>,
    /// Per buffer (root value), the index of the last node reading or writing it.
    pub(crate) last: Vec<Option<usize>>,
}

impl Lifetimes {
    /// True for ops whose output is their input's data under another shape.
    pub(crate) fn is_alias(op: &Op) -> bool {
        matches!(op, Op::Flatten(_) | Op::Reshape(_) | Op::Identity)
    }

    /// Computes roots and lifetimes of `g`'s values.
    pub(crate) fn new(g: &Graph) -> Lifetimes {
        let nv = g.values.len();
        let mut root: Vec<ValueId> = (0..nv).collect();
        for n in &g.nodes {
            if Self::is_alias(&n.op) {
                root[n.outputs[0]] = root[n.inputs[0]];
            }
        }

        // Lifetimes per buffer: the last step reading it; constants and graph outputs live on.
        let mut pinned = vec![false; nv];
        for (v, _) in &g.constants {
            pinned[*v] = true;
        }
        for &o in &g.outputs {
            pinned[root[o]] = true;
        }
        let mut last: Vec<Option<usize>> = vec![None; nv];
        for (i, n) in g.nodes.iter().enumerate() {
            for &v in n.inputs.iter().chain(&n.outputs) {
                last[root[v]] = Some(i);
            }
        }

        Lifetimes { root, pinned, last }
    }

    /// Buffers (by root value) whose last reader is node `i`.
    pub(crate) fn frees(&self, n: &Node, i: usize) -> Vec<ValueId> {
        let (root, pinned, last) = (&self.root, &self.pinned, &self.last);
        let mut frees: Vec<ValueId> = n
            .inputs
            .iter()
            .chain(&n.outputs)
            .map(|&v| root[v])
            .filter(|&r| !pinned[r] && last[r] == Some(i))
            .collect();
        frees.sort_unstable();
        frees.dedup();
        frees
    }
}

/// What the shared step loop needs to know of a planned step (f32 and integer alike).
pub(crate) trait PlannedStep {
    /// Node name.
    fn name(&self) -> &str;
    /// Op kind.
    fn kind(&self) -> &'static str;
    /// Buffers (by root value) whose last reader it is.
    fn frees(&self) -> &[ValueId];
}

/// [`PlannedStep`] for a step type with `name`, `kind` and `frees` fields.
macro_rules! planned_step {
    ($step:ty) => {
        impl $crate::exec::graph_plan::PlannedStep for $step {
            fn name(&self) -> &str {
                &self.name
            }
            fn kind(&self) -> &'static str {
                self.kind
            }
            fn frees(&self) -> &[$crate::ir::ValueId] {
                &self.frees
            }
        }
    };
}
pub(crate) use planned_step;

/// The loop every executor runs, over buffers of `T` recycled through `ws`'s pool: each step
/// in order (timed with `clock` when given), then `after` it (observers, before anything is
/// recycled), then the buffers whose last reader it was back to the pool.
pub(crate) fn run_steps<S: PlannedStep, T: Copy + Default, W: HasPool<T>>(
    steps: &[S],
    bufs: &mut [Option<Buf<T>>],
    ws: &mut W,
    mut clock: Option<&mut dyn FnMut() -> f64>,
    mut run: impl FnMut(&S, &mut [Option<Buf<T>>], &mut W) -> Result<()>,
    mut after: impl FnMut(&S, &[Option<Buf<T>>]) -> Result<()>,
) -> Result<Vec<NodeTime>> {
    let mut times = Vec::new();
    // One team for the whole run: its helpers wait for the kernels' parallel regions.
    parallel::team(|| {
        for step in steps {
            let t0 = clock.as_mut().map(|c| c());
            run(step, bufs, ws)?;
            if let (Some(t0), Some(c)) = (t0, clock.as_mut()) {
                times.push((step.name().to_string(), step.kind(), c() - t0));
            }
            after(step, bufs)?;
            for &r in step.frees() {
                if let Some(b) = bufs[r].take() {
                    ws.pool().give(b);
                }
            }
        }
        Ok(times)
    })
}

/// A run's workspace with its buffer pool.
pub(crate) trait HasPool<T>: Default + Sized + 'static {
    /// The recycled buffers.
    fn pool(&mut self) -> &mut BufPool<T>;
    /// Where idle workspaces of this type wait for the next run of any executor.
    fn shelf() -> &'static Mutex<Vec<Self>>;
}

/// Idle workspaces kept per type: as many as runs that overlapped (threads), at most this.
const SHELF_MAX: usize = 2;

/// Runs `f` with an idle workspace of this type (a fresh one while other runs hold them all),
/// then returns every buffer left in `bufs` to its pool and shelves the workspace for the next
/// run. Workspaces are shared by every executor of the element type: a new variant of a model
/// (fp16 after fp32, w4a8 after w8a8) runs its first image in the buffers another one grew,
/// instead of paying for fresh memory (measured: 95 ms against 54 for a first fp16 run).
pub(crate) fn with_workspace<T: Copy + Default, W: HasPool<T>, R>(
    bufs: &mut Vec<Option<Buf<T>>>,
    f: impl FnOnce(&mut W, &mut Vec<Option<Buf<T>>>) -> Result<R>,
) -> Result<R> {
    let mut ws = W::shelf()
        .lock()
        .ok()
        .and_then(|mut s| s.pop())
        .unwrap_or_default();
    let out = f(&mut ws, bufs);
    for b in bufs.drain(..).flatten() {
        ws.pool().give(b);
    }
    if let Ok(mut s) = W::shelf().lock() {
        if s.len() < SHELF_MAX {
            s.push(ws);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{with_workspace, Buf, BufPool, HasPool};
    use std::sync::Mutex;

    #[derive(Default)]
    struct TestSpace {
        pool: BufPool<u8>,
    }

    impl HasPool<u8> for TestSpace {
        fn pool(&mut self) -> &mut BufPool<u8> {
            &mut self.pool
        }
        fn shelf() -> &'static Mutex<Vec<Self>> {
            static SHELF: Mutex<Vec<TestSpace>> = Mutex::new(Vec::new());
            &SHELF
        }
    }

    #[test]
    fn a_later_run_reuses_the_buffers_an_earlier_one_grew() {
        // A first run (any executor) ends with a 1 MB buffer left in `bufs`.
        let mut big = BufPool::default().take(1 << 20);
        big.fill(7u8);
        let mut bufs = vec![None, Some(big)];
        with_workspace(&mut bufs, |_: &mut TestSpace, _| Ok(())).unwrap();
        assert!(bufs.is_empty());
        // The next run, of another executor of the same type, gets that very allocation
        // (its values too: nothing zeroed them).
        let mut bufs: Vec<Option<Buf<u8>>> = Vec::new();
        let reused = with_workspace(&mut bufs, |ws: &mut TestSpace, _| {
            Ok(ws.pool().take(1000).into_vec())
        })
        .unwrap();
        assert_eq!(reused.capacity(), 1 << 20);
        assert_eq!(reused, vec![7u8; 1000]);
    }
}
