import { useEffect, useState } from "preact/hooks";
import { SlaBadge, SlaClocks } from "./SlaBadge";
import { ApiError, api, errorDetail } from "../api";
import { capitalize, contactAddress, contactName } from "../format";
import { type Action, type SlaFlag, isMine, key } from "../store";
import type { Agent, Conversation, Id, Message, QuickReply } from "../types";
import { Composer } from "./Composer";
import { MessageList } from "./MessageList";
import { CustomerPanel } from "./CustomerPanel";
import { Labels } from "./Labels";
import { SnoozeMenu } from "./SnoozeMenu";
import { TransferDialog } from "./TransferDialog";

interface Props {
  conversation: Conversation | null;
  messages: Message[] | undefined;
  messagesError: string | null;
  me: Agent;
  knownTeams: string[];
  quickReplies: QuickReply[];
  sla: SlaFlag | undefined;
  dispatch: (action: Action) => void;
  onBack: () => void;
  onOpen?: (id: Id) => void;
}

type ActionName = "claim" | "release" | "resolve" | "reopen";

const isConversation = (value: unknown): value is Conversation =>
  !!value && typeof value === "object" && "id" in value && "status" in value;

export function ConversationView(props: Props) {
  const { conversation, me, dispatch } = props;
  const [busy, setBusy] = useState<ActionName | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [transferOpen, setTransferOpen] = useState(false);
  const [profileOpen, setProfileOpen] = useState(() => typeof window === "undefined" || window.innerWidth >= 1200);

  const id = conversation ? key(conversation.id) : null;
  useEffect(() => {
    setError(null);
    setTransferOpen(false);
  }, [id]);

  // Tell colleagues we are looking at this chat (a heartbeat) and show who else is.
  const [viewers, setViewers] = useState<{ id: number; name: string }[]>([]);
  useEffect(() => {
    setViewers([]);
    if (!conversation) return;
    let stopped = false;
    const beat = () =>
      api
        .viewing(conversation.id)
        .then((answer) => !stopped && setViewers(answer.items))
        .catch(() => undefined);
    beat();
    const timer = window.setInterval(beat, 10_000);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [id]);

  if (!conversation) {
    return (
      <section class="conversation-pane empty" aria-label="Conversation">
        <div class="placeholder">
          <p>Select a conversation</p>
          <p class="muted small">Queued chats from your teams appear on the left the moment they arrive.</p>
        </div>
      </section>
    );
  }

  const mine = isMine(conversation, me);
  const lead = me.role === "lead" || me.role === "admin";
  const resolved = conversation.status === "resolved";
  const canManage = (mine || lead) && !resolved;
  const heldByOther = conversation.status === "assigned" && !!conversation.assignee && !mine;

  const refresh = async () => {
    try {
      const fresh = await api.conversation(conversation.id);
      dispatch({ type: "conversation/upsert", conversation: fresh, source: "event" });
    } catch {
      /* keep what we have */
    }
  };

  const run = async (name: ActionName) => {
    setBusy(name);
    setError(null);
    try {
      const result = await api[name](conversation.id);
      if (isConversation(result)) dispatch({ type: "conversation/upsert", conversation: result, source: "event" });
      else await refresh();
    } catch (err) {
      const verb = capitalize(name);
      if (err instanceof ApiError && err.status === 409) {
        setError(`${verb} failed: ${err.detail}`);
        await refresh();
      } else {
        setError(`${verb} failed: ${errorDetail(err)}`);
      }
    } finally {
      setBusy(null);
    }
  };

  const name = contactName(conversation.contact);
  return (
    <section class="conversation-pane" aria-label="Conversation">
      <header class="conversation-header">
        <button type="button" class="btn ghost back" onClick={props.onBack}>
          ← Conversations
        </button>
        <div class="who">
          <h2 class="conversation-title">{name}</h2>
          <p class="number">{contactAddress(conversation.contact)}</p>
        </div>
        <dl class="facts">
          <div>
            <dt>Status</dt>
            <dd>
              <span class={`pill status-${conversation.status}`}>{capitalize(conversation.status)}</span>
              <SlaBadge conversation={conversation} flag={props.sla} />
            </dd>
          </div>
          {conversation.sla && conversation.sla.clocks.length > 0 && (
            <div>
              <dt>SLA</dt>
              <dd>
                <SlaClocks clocks={conversation.sla.clocks} />
              </dd>
            </div>
          )}
          {conversation.status === "snoozed" && conversation.snoozed_until && (
            <div>
              <dt>Until</dt>
              <dd>
                <time dateTime={conversation.snoozed_until}>{new Date(conversation.snoozed_until).toLocaleString()}</time>
              </dd>
            </div>
          )}
          <div>
            <dt>Team</dt>
            <dd>{conversation.team ?? "None"}</dd>
          </div>
          <div>
            <dt>Assignee</dt>
            <dd>{conversation.assignee ? (mine ? `${conversation.assignee.name} (you)` : conversation.assignee.name) : "Unassigned"}</dd>
          </div>
        </dl>
        <div class="actions">
          {!resolved && !mine && !heldByOther && (
            <button type="button" class="btn primary" disabled={busy !== null} onClick={() => void run("claim")}>
              Claim
            </button>
          )}
          {canManage && conversation.status === "assigned" && (
            <button type="button" class="btn" disabled={busy !== null} onClick={() => void run("release")}>
              Release
            </button>
          )}
          {canManage && (
            <button type="button" class="btn" disabled={busy !== null} onClick={() => setTransferOpen(true)}>
              Transfer
            </button>
          )}
          {canManage && (conversation.status === "assigned" || conversation.status === "snoozed" || (lead && conversation.status === "queued")) && (
            <SnoozeMenu
              conversation={conversation}
              onDone={(updated) => dispatch({ type: "conversation/upsert", conversation: updated, source: "event" })}
              onError={(message) => setError(message)}
            />
          )}
          {canManage && (
            <button type="button" class="btn" disabled={busy !== null} onClick={() => void run("resolve")}>
              Resolve
            </button>
          )}
          {resolved && (
            <button type="button" class="btn" disabled={busy !== null} onClick={() => void run("reopen")}>
              Reopen
            </button>
          )}
        </div>
      </header>
      <div class="conversation-labels">
        <Labels
          labels={conversation.labels ?? []}
          name="Conversation labels"
          onChange={async (labels) => {
            const updated = await api.setLabels(conversation.id, labels);
            dispatch({ type: "conversation/upsert", conversation: updated, source: "event" });
          }}
        />
        <button type="button" class="btn ghost small" aria-expanded={profileOpen} onClick={() => setProfileOpen(!profileOpen)}>
          {profileOpen ? "Hide profile" : "Show profile"}
        </button>
      </div>
      {error && (
        <p role="alert" class="error action-error">
          {error}
        </p>
      )}
      {heldByOther && <p class="read-only-note">Assigned to {conversation.assignee!.name} — read only</p>}
      {viewers.length > 0 && (
        <p class="viewers-note" role="status">
          Also viewing: {viewers.map((viewer) => viewer.name).join(", ")}
        </p>
      )}
      <MessageList
        conversationId={key(conversation.id)}
        messages={props.messages}
        error={props.messagesError}
        canRetry={mine || lead}
        dispatch={dispatch}
      />
      {!resolved && !(mine && conversation.status === "assigned") && !heldByOther && (
        <p class="composer-hint muted">
          {conversation.status === "snoozed" ? "Snoozed — it comes back by itself, or when the customer writes." : "Claim this conversation to reply."}
        </p>
      )}
      {resolved ? (
        <p class="composer-hint muted">This conversation is resolved.</p>
      ) : (
        <Composer
          key={key(conversation.id)}
          conversation={conversation}
          quickReplies={props.quickReplies}
          dispatch={dispatch}
          isLead={lead}
          canReply={mine && conversation.status === "assigned"}
        />
      )}
      {profileOpen && (
        <CustomerPanel conversation={conversation} onOpen={(cid) => props.onOpen?.(cid)} isAdmin={me.role === "admin"} />
      )}
      {transferOpen && (
        <TransferDialog
          conversation={conversation}
          teams={props.knownTeams}
          me={me}
          onClose={() => setTransferOpen(false)}
          onTransferred={(updated) => {
            if (updated) dispatch({ type: "conversation/upsert", conversation: updated, source: "event" });
            else void refresh();
            setTransferOpen(false);
          }}
        />
      )}
    </section>
  );
}
