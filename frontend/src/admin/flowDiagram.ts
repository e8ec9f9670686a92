// The bot flow diagram's layout: where each node's box and each connection go, with no DOM, so
// it is tested on its own. Nodes come from the server's check of the YAML (`flow_graph` in
// backend/bots/flow.py): each with its edges `{to, label}` — a button's or a row's title, a
// route's keywords, a collect's answer, a message's plain next.
//
// Layered from the start node downwards (breadth-first, so a node sits one row below the first
// node that leads to it, in the order the flow lists its ways out); nodes nothing leads to come
// last, in a row of their own. An edge that goes down is a curve from the bottom of its box to
// the top of the next; one that goes back up (a "start over" or a language choice that returns
// to the menu) or stays in its row runs around the right-hand side, so it never crosses a box.

export interface FlowEdge {
  to: string;
  label: string;
}

export interface FlowNode {
  id: string;
  kind: string | null;
  start: boolean;
  detail?: string;
  next: string[];
  edges?: FlowEdge[];
}

export interface Box {
  id: string;
  kind: string;
  detail: string;
  start: boolean;
  reachable: boolean;
  row: number;
  x: number;
  y: number;
}

export interface Connection {
  from: string;
  to: string;
  label: string;
  /** The label as drawn: shortened to fit between boxes (the full one is in `label`). */
  shortLabel: string;
  back: boolean;
  path: string;
  labelX: number;
  labelY: number;
}

export interface Layout {
  width: number;
  height: number;
  boxes: Box[];
  connections: Connection[];
}

export const BOX_WIDTH = 150;
export const BOX_HEIGHT = 52;
const GAP_X = 28;
const GAP_Y = 76;
const MARGIN = 16;
const AROUND = 36; // how far right of the widest row a connection going back up runs
const LABEL_CHARS = 22;

/** Each node's ways out: its labelled edges, or (from an older server) its bare `next` list. */
export function edgesOf(node: FlowNode): FlowEdge[] {
  return node.edges ?? node.next.map((to) => ({ to, label: "" }));
}

export function shorten(label: string, max = LABEL_CHARS): string {
  return label.length <= max ? label : `${label.slice(0, max - 1).trimEnd()}…`;
}

/** The nodes row by row: breadth-first from the start, each row in the order the nodes were
 * first led to (so siblings keep the flow's order); those nothing leads to in a last row. */
export function rowsOf(nodes: FlowNode[]): { rows: string[][]; unreached: Set<string> } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const start = nodes.find((n) => n.start) ?? nodes[0];
  if (!start) return { rows: [], unreached: new Set() };
  const rowOf = new Map([[start.id, 0]]);
  const order: string[][] = [[start.id]];
  const queue = [start.id];
  while (queue.length) {
    const id = queue.shift() as string;
    const row = (rowOf.get(id) as number) + 1;
    for (const edge of edgesOf(byId.get(id) as FlowNode)) {
      if (byId.has(edge.to) && !rowOf.has(edge.to)) {
        rowOf.set(edge.to, row);
        (order[row] ??= []).push(edge.to);
        queue.push(edge.to);
      }
    }
  }
  const unreached = nodes.filter((n) => !rowOf.has(n.id)).map((n) => n.id);
  return { rows: unreached.length ? [...order, unreached] : order, unreached: new Set(unreached) };
}

export function layoutFlow(nodes: FlowNode[]): Layout {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const { rows: order, unreached } = rowsOf(nodes);
  const widest = Math.max(0, ...order.map((ids) => ids.length));
  const rowsWidth = widest * BOX_WIDTH + Math.max(0, widest - 1) * GAP_X;
  const boxes: Box[] = [];
  const where = new Map<string, Box>();
  order.forEach((ids, row) => {
    const span = ids.length * BOX_WIDTH + (ids.length - 1) * GAP_X;
    const left = MARGIN + (rowsWidth - span) / 2;
    ids.forEach((id, i) => {
      const node = byId.get(id) as FlowNode;
      const box: Box = {
        id,
        kind: node.kind ?? "node",
        detail: node.detail ?? "",
        start: node.start,
        reachable: !unreached.has(id),
        row,
        x: left + i * (BOX_WIDTH + GAP_X),
        y: MARGIN + row * (BOX_HEIGHT + GAP_Y),
      };
      boxes.push(box);
      where.set(id, box);
    });
  });

  const connections: Connection[] = [];
  const right = MARGIN + rowsWidth;
  let backs = 0;
  for (const box of boxes) {
    const out = edgesOf(byId.get(box.id) as FlowNode).filter((e) => where.has(e.to));
    const down = out.filter((e) => (where.get(e.to) as Box).row > box.row);
    down.forEach((edge, i) => {
      const target = where.get(edge.to) as Box;
      const sx = box.x + (BOX_WIDTH * (i + 1)) / (down.length + 1);
      const sy = box.y + BOX_HEIGHT;
      const tx = target.x + BOX_WIDTH / 2;
      const ty = target.y;
      const bend = Math.max(24, (ty - sy) / 2);
      connections.push({
        from: box.id,
        to: edge.to,
        label: edge.label,
        shortLabel: shorten(edge.label),
        back: false,
        path: `M ${sx} ${sy} C ${sx} ${sy + bend}, ${tx} ${ty - bend}, ${tx} ${ty}`,
        // Near the target: fanned-out labels then sit above boxes that are apart.
        labelX: tx,
        labelY: ty - 10,
      });
    });
    for (const edge of out.filter((e) => !down.includes(e))) {
      const target = where.get(edge.to) as Box;
      backs += 1;
      const outX = right + AROUND * backs;
      const sx = box.x + BOX_WIDTH;
      const sy = box.y + BOX_HEIGHT / 2 + 6;
      const tx = target.x + BOX_WIDTH;
      const ty = target.y + BOX_HEIGHT / 2 - 6;
      connections.push({
        from: box.id,
        to: edge.to,
        label: edge.label,
        shortLabel: shorten(edge.label),
        back: true,
        path: `M ${sx} ${sy} C ${outX} ${sy}, ${outX} ${ty}, ${tx} ${ty}`,
        // Just right of the curve's outermost point (a cubic with these control points reaches
        // three quarters of the way out).
        labelX: 0.75 * outX + 0.125 * (sx + tx) + 6,
        labelY: (sy + ty) / 2 + 4,
      });
    }
  }
  const labelRoom = connections.some((c) => c.back && c.label) ? LABEL_CHARS * 6.5 : 0;
  return {
    width: right + AROUND * (backs + 1) + labelRoom + MARGIN,
    height: MARGIN * 2 + order.length * BOX_HEIGHT + Math.max(0, order.length - 1) * GAP_Y,
    boxes,
    connections,
  };
}

/** The diagram in words, for its accessible description: every node and where it leads. */
export function describeFlow(nodes: FlowNode[]): string {
  const known = new Set(nodes.map((n) => n.id));
  return nodes
    .map((node) => {
      const what = [node.kind ?? "node", node.start ? "start" : "", node.detail ?? ""].filter(Boolean).join(", ");
      const out = edgesOf(node).filter((e) => known.has(e.to));
      const leads = out.length
        ? `leads to ${out.map((e) => (e.label ? `${e.to} (${e.label})` : e.to)).join("; ")}`
        : "ends here";
      return `${node.id} (${what}) ${leads}.`;
    })
    .join(" ");
}
