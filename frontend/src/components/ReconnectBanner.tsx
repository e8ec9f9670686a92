import type { ConnectionState } from "../realtime";

/** Always in the DOM (so screen readers announce changes); visible only while disconnected. */
export function ReconnectBanner({ connection }: { connection: ConnectionState }) {
  const show = connection === "reconnecting";
  return (
    <div role="status" class={`reconnect-banner${show ? " show" : ""}`}>
      {show ? "Reconnecting…" : ""}
    </div>
  );
}
