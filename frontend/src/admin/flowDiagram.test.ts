import { describe, expect, it } from "vitest";
import { BOX_HEIGHT, BOX_WIDTH, type FlowNode, describeFlow, layoutFlow, rowsOf, shorten } from "./flowDiagram";

// The demo flow's shape, as the server's check returns it (backend/bots/flow.py `flow_graph`).
const DEMO: FlowNode[] = [
  { id: "greeting", kind: "message", start: true, next: ["topic"], edges: [{ to: "topic", label: "" }] },
  {
    id: "topic",
    kind: "list",
    start: false,
    next: [],
    edges: [
      { to: "order_number", label: "Orders · says order, delivery, parcel" },
      { to: "billing_handoff", label: "Billing" },
      { to: "language", label: "Language / Sprache" },
    ],
  },
  { id: "order_number", kind: "collect", start: false, detail: "asks order_number", next: [], edges: [{ to: "orders_handoff", label: "answered" }] },
  { id: "orders_handoff", kind: "handoff", start: false, detail: "to Orders", next: [], edges: [] },
  { id: "billing_handoff", kind: "handoff", start: false, detail: "to Billing", next: [], edges: [] },
  { id: "language", kind: "buttons", start: false, next: [], edges: [{ to: "topic", label: "English · Deutsch" }] },
];

const overlaps = (a: { x: number; y: number }, b: { x: number; y: number }) =>
  Math.abs(a.x - b.x) < BOX_WIDTH && Math.abs(a.y - b.y) < BOX_HEIGHT;

describe("the bot flow diagram's layout", () => {
  it("puts each node one row below the first node that leads to it, siblings in the flow's order", () => {
    expect(rowsOf(DEMO).rows).toEqual([["greeting"], ["topic"], ["order_number", "billing_handoff", "language"], ["orders_handoff"]]);
  });

  it("starts from the start node wherever it is written, and puts unreachable nodes last", () => {
    const nodes: FlowNode[] = [
      { id: "orphan", kind: "end", start: false, next: [] },
      { id: "b", kind: "end", start: false, next: [] },
      { id: "a", kind: "message", start: true, next: ["b"] },
    ];
    const { rows, unreached } = rowsOf(nodes);
    expect(rows).toEqual([["a"], ["b"], ["orphan"]]);
    expect([...unreached]).toEqual(["orphan"]);
    const layout = layoutFlow(nodes);
    expect(layout.boxes.find((b) => b.id === "orphan")?.reachable).toBe(false);
    expect(layout.boxes.find((b) => b.id === "a")?.start).toBe(true);
  });

  it("never overlaps two boxes and keeps everything inside the drawing", () => {
    const { boxes, width, height } = layoutFlow(DEMO);
    expect(boxes).toHaveLength(DEMO.length);
    for (const a of boxes) {
      expect(a.x).toBeGreaterThanOrEqual(0);
      expect(a.y).toBeGreaterThanOrEqual(0);
      expect(a.x + BOX_WIDTH).toBeLessThanOrEqual(width);
      expect(a.y + BOX_HEIGHT).toBeLessThanOrEqual(height);
      for (const b of boxes) if (a !== b) expect(overlaps(a, b)).toBe(false);
    }
  });

  it("draws one connection per edge: down from box to box, back up around the right side", () => {
    const { boxes, connections, width } = layoutFlow(DEMO);
    expect(connections.map((c) => [c.from, c.to, c.back])).toEqual([
      ["greeting", "topic", false],
      ["topic", "order_number", false],
      ["topic", "billing_handoff", false],
      ["topic", "language", false],
      ["order_number", "orders_handoff", false],
      ["language", "topic", true],
    ]);
    const at = (id: string) => boxes.find((b) => b.id === id)!;
    const down = connections[1];
    // From the bottom of `topic` to the top-centre of `order_number`.
    expect(down.path.startsWith(`M ${at("topic").x + BOX_WIDTH / 4} ${at("topic").y + BOX_HEIGHT} `)).toBe(true);
    expect(down.path.endsWith(`${at("order_number").x + BOX_WIDTH / 2} ${at("order_number").y}`)).toBe(true);
    const back = connections[5];
    const rightmost = Math.max(...boxes.map((b) => b.x + BOX_WIDTH));
    const bulge = Number(back.path.split(" ")[4]);
    expect(bulge).toBeGreaterThan(rightmost);
    expect(bulge).toBeLessThan(width);
    expect(back.labelX).toBeGreaterThan(rightmost);
  });

  it("labels connections with the button, row or route, shortened to fit", () => {
    const { connections } = layoutFlow(DEMO);
    const orders = connections.find((c) => c.to === "order_number")!;
    expect(orders.label).toBe("Orders · says order, delivery, parcel");
    expect(orders.shortLabel).toBe("Orders · says order,…");
    expect(orders.shortLabel.length).toBeLessThanOrEqual(22);
    expect(connections[0].shortLabel).toBe("");
    expect(shorten("Billing")).toBe("Billing");
  });

  it("reads older answers (a bare next list) and ignores edges to unknown nodes", () => {
    const layout = layoutFlow([
      { id: "a", kind: "message", start: true, next: ["b", "gone"] },
      { id: "b", kind: "end", start: false, next: [] },
    ]);
    expect(layout.connections.map((c) => c.to)).toEqual(["b"]);
    expect(layoutFlow([])).toEqual({ width: expect.any(Number), height: expect.any(Number), boxes: [], connections: [] });
  });

  it("says the whole diagram in words", () => {
    expect(describeFlow(DEMO.slice(0, 4))).toBe(
      "greeting (message, start) leads to topic. " +
        "topic (list) leads to order_number (Orders · says order, delivery, parcel). " +
        "order_number (collect, asks order_number) leads to orders_handoff (answered). " +
        "orders_handoff (handoff, to Orders) ends here.",
    );
  });
});
