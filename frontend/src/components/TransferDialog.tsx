import { useEffect, useRef, useState } from "preact/hooks";
import { api, errorDetail } from "../api";
import { contactName } from "../format";
import { key } from "../store";
import type { Agent, AgentSummary, Conversation } from "../types";

interface Props {
  conversation: Conversation;
  teams: string[];
  me: Agent;
  onClose: () => void;
  onTransferred: (conversation: Conversation | null) => void;
}

type Target = { kind: "team"; name: string } | { kind: "agent"; id: string; name: string };

export function TransferDialog({ conversation, teams, me, onClose, onTransferred }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [agents, setAgents] = useState<AgentSummary[] | null>(null);
  const [agentsError, setAgentsError] = useState<string | null>(null);
  const [target, setTarget] = useState<Target | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const el = dialog.current;
    if (el && !el.open) {
      if (typeof el.showModal === "function") el.showModal();
      else el.setAttribute("open", "");
    }
    api.agents().then(
      (r) => setAgents((r.items ?? []).filter((a) => key(a.id) !== key(me.id))),
      (err) => {
        setAgents([]);
        setAgentsError(errorDetail(err));
      },
    );
  }, [me.id]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!target || busy) return;
    setBusy(true);
    setError(null);
    try {
      const body = target.kind === "team" ? { team: target.name } : { agent_id: agents?.find((a) => key(a.id) === target.id)?.id ?? target.id };
      const result = await api.transfer(conversation.id, body);
      onTransferred(result && typeof result === "object" && "id" in result ? result : null);
    } catch (err) {
      setError(`Transfer failed: ${errorDetail(err)}`);
      setBusy(false);
    }
  };

  const teamOptions = teams.length ? teams : conversation.team ? [conversation.team] : [];
  return (
    <dialog
      ref={dialog}
      class="transfer-dialog"
      aria-labelledby="transfer-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <form onSubmit={submit}>
        <h2 id="transfer-title">Transfer {contactName(conversation.contact)}</h2>
        <fieldset>
          <legend>To a team</legend>
          {teamOptions.length === 0 && <p class="muted small">No teams</p>}
          {teamOptions.map((name) => (
            <label class="option" key={`team-${name}`}>
              <input
                type="radio"
                name="transfer-target"
                checked={target?.kind === "team" && target.name === name}
                onChange={() => setTarget({ kind: "team", name })}
              />
              <span>{name}</span>
              {conversation.team === name && <span class="muted small"> (current)</span>}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>To an agent</legend>
          {agents === null && <p class="muted small">Loading agents…</p>}
          {agentsError && <p class="muted small">Agents unavailable: {agentsError}</p>}
          {agents?.length === 0 && !agentsError && <p class="muted small">No other agents</p>}
          {agents?.map((a) => (
            <label class="option" key={`agent-${key(a.id)}`}>
              <input
                type="radio"
                name="transfer-target"
                checked={target?.kind === "agent" && target.id === key(a.id)}
                onChange={() => setTarget({ kind: "agent", id: key(a.id), name: a.name })}
              />
              <span>{a.name}</span>
              <span class={`presence-tag presence-${a.presence ?? "offline"}`}> {a.presence ?? "offline"}</span>
            </label>
          ))}
        </fieldset>
        {error && (
          <p role="alert" class="error small">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={!target || busy}>
            {target ? `Transfer to ${target.name}` : "Confirm"}
          </button>
        </div>
      </form>
    </dialog>
  );
}
