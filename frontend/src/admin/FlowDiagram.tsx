// The bot flow as a diagram: boxes for the nodes and labelled arrows for the ways between them,
// drawn from the server's check of the YAML as one types (layout: flowDiagram.ts). Wider than a
// phone, it scrolls inside a named region that the keyboard can focus; the picture's accessible
// description says every node and where it leads, which is what the arrows show.
import { useEffect, useMemo, useRef } from "preact/hooks";
import { BOX_HEIGHT, BOX_WIDTH, type FlowNode, describeFlow, layoutFlow, shorten } from "./flowDiagram";

export function FlowDiagram({ nodes }: { nodes: FlowNode[] }) {
  const layout = useMemo(() => layoutFlow(nodes), [nodes]);
  const description = useMemo(() => describeFlow(nodes), [nodes]);
  // Opened on the start node: on a phone the top row's middle is off to the right otherwise.
  // Once, not on every keystroke: whoever scrolled elsewhere stays there while editing.
  const scroller = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const start = layout.boxes.find((b) => b.start) ?? layout.boxes[0];
    const region = scroller.current;
    if (start && region) region.scrollLeft = start.x + BOX_WIDTH / 2 - region.clientWidth / 2;
  }, []);
  return (
    <div class="flow-diagram-scroll" role="region" aria-label="Flow diagram" tabIndex={0} ref={scroller}>
      <svg
        class="flow-svg"
        role="img"
        aria-label={`Flow diagram: ${description}`}
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
      >
        <defs>
          <marker id="flow-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="flow-arrowhead" />
          </marker>
        </defs>
        {layout.connections.map((c) => (
          <g key={`${c.from}>${c.to}`} class={c.back ? "flow-edge back" : "flow-edge"}>
            <title>{c.label ? `${c.from} → ${c.to}: ${c.label}` : `${c.from} → ${c.to}`}</title>
            <path d={c.path} marker-end="url(#flow-arrow)" />
            {c.shortLabel && (
              <text x={c.labelX} y={c.labelY} text-anchor={c.back ? "start" : "middle"} class="flow-edge-label">
                {c.shortLabel}
              </text>
            )}
          </g>
        ))}
        {layout.boxes.map((b) => (
          <g key={b.id} class={`flow-node kind-${b.kind}${b.start ? " start" : ""}${b.reachable ? "" : " unreachable"}`} transform={`translate(${b.x} ${b.y})`}>
            <rect width={BOX_WIDTH} height={BOX_HEIGHT} rx="8" />
            <text x={BOX_WIDTH / 2} y="21" text-anchor="middle" class="flow-node-id">
              {shorten(b.id, 20)}
            </text>
            <text x={BOX_WIDTH / 2} y="39" text-anchor="middle" class="flow-node-kind">
              {shorten([b.start ? "start" : "", b.kind, b.detail, b.reachable ? "" : "not reached"].filter(Boolean).join(" · "), 24)}
            </text>
          </g>
        ))}
      </svg>
    </div>
  );
}
