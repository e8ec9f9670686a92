import { useEffect, useState } from "preact/hooks";
import { api, errorDetail, request } from "../api";
import { capitalize, contactAddress, contactName } from "../format";
import { key } from "../store";
import type { Conversation, ContactProfile, Id } from "../types";
import { Labels } from "./Labels";

interface Props {
  conversation: Conversation;
  onOpen: (id: Id) => void;
  /** Admins may export and erase the customer's data (the GDPR requests). */
  isAdmin?: boolean;
}

const day = (iso: string | null) => (iso ? new Date(iso).toLocaleDateString() : "—");

/** The customer's profile beside the chat: who they are, what is known, what they asked before. */
export function CustomerPanel({ conversation, onOpen, isAdmin = false }: Props) {
  const contactId = conversation.contact.id;
  const [profile, setProfile] = useState<ContactProfile | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [consent, setConsent] = useState<Array<{ opted_out: boolean; source: string; at: string }>>([]);
  const [attrKey, setAttrKey] = useState("");
  const [attrValue, setAttrValue] = useState("");

  useEffect(() => {
    setProfile(null);
    setError(null);
    if (contactId === undefined) return;
    let stopped = false;
    api.contact(contactId).then(
      (p) => !stopped && setProfile(p),
      (err) => !stopped && setError(errorDetail(err)),
    );
    api.consent(contactId).then(
      (c) => !stopped && setConsent(c.changes ?? []),
      () => !stopped && setConsent([]),
    );
    return () => {
      stopped = true;
    };
  }, [contactId, conversation.updated_at]);

  const patch = async (body: Record<string, unknown>) => {
    if (contactId === undefined) return;
    try {
      setProfile(await api.updateContact(contactId, body));
      setError(null);
    } catch (err) {
      setError(errorDetail(err));
      throw err;
    }
  };

  const attributes = profile ? Object.entries(profile.attributes) : [];
  const previous = profile ? profile.conversations.filter((c) => key(c.id) !== key(conversation.id)) : [];
  return (
    <aside class="customer-panel" aria-label="Customer">
      <h2 class="panel-title">Profile</h2>
      <p class="profile-name">{contactName(conversation.contact)}</p>
      <p class="number">{contactAddress(conversation.contact)}</p>
      {error && (
        <p role="alert" class="error small">
          {error}
        </p>
      )}
      {!profile ? (
        !error && <p class="muted small">Loading the profile…</p>
      ) : (
        <>
          <dl class="profile-facts">
            <div>
              <dt>Language</dt>
              <dd>{profile.language ?? "Unknown"}</dd>
            </div>
            <div>
              <dt>Time zone</dt>
              <dd>{profile.time_zone ?? "Unknown"}</dd>
            </div>
            <div>
              <dt>Messages</dt>
              <dd>{profile.opted_out ? "Opted out" : "Subscribed"}</dd>
            </div>
          </dl>
          {consent.length > 0 && (
            <ul class="consent-history small" aria-label="Consent history">
              {consent.slice(-5).map((c) => (
                <li key={c.at}>
                  {day(c.at)}: {c.opted_out ? "opted out" : "opted in"} ({c.source})
                </li>
              ))}
            </ul>
          )}
          <h3>Labels</h3>
          <Labels labels={profile.labels} name="Customer labels" onChange={(labels) => patch({ labels })} />
          <h3>Attributes</h3>
          {attributes.length === 0 ? (
            <p class="muted small">Nothing collected yet.</p>
          ) : (
            <dl class="attributes">
              {attributes.map(([name, value]) => (
                <div key={name}>
                  <dt>{name.replace(/_/g, " ")}</dt>
                  <dd>
                    {String(value)}
                    <button type="button" class="chip-remove" aria-label={`Remove attribute ${name}`} onClick={() => void patch({ attributes: { [name]: null } }).catch(() => undefined)}>
                      ×
                    </button>
                  </dd>
                </div>
              ))}
            </dl>
          )}
          <form
            class="attribute-add"
            onSubmit={(e) => {
              e.preventDefault();
              if (!attrKey.trim()) return;
              void patch({ attributes: { [attrKey.trim()]: attrValue } }).then(
                () => (setAttrKey(""), setAttrValue("")),
                () => undefined,
              );
            }}
          >
            <input aria-label="Attribute name" placeholder="Name" maxLength={64} value={attrKey} onInput={(e) => setAttrKey(e.currentTarget.value)} />
            <input aria-label="Attribute value" placeholder="Value" maxLength={1000} value={attrValue} onInput={(e) => setAttrValue(e.currentTarget.value)} />
            <button type="submit" class="btn small">
              Add
            </button>
          </form>
          {isAdmin && contactId !== undefined && <CustomerData contactId={contactId} />}
          <h3>Previous conversations</h3>
          {previous.length === 0 ? (
            <p class="muted small">None before this one.</p>
          ) : (
            <ul class="history" aria-label="Previous conversations">
              {previous.map((c) => (
                <li key={key(c.id)}>
                  <button type="button" class="history-item" disabled={!c.visible} onClick={() => onOpen(c.id)}>
                    <span>
                      {day(c.created_at)} · {capitalize(c.status)}
                      {c.team ? ` · ${c.team}` : ""}
                    </span>
                    <span class="muted small">
                      {c.resolved_at ? `resolved ${day(c.resolved_at)}` : "open"}
                      {c.csat !== null ? ` · CSAT ${c.csat}/5` : ""}
                      {!c.visible ? " · another team's" : ""}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </aside>
  );
}

/** A customer's right to their data: a zip of everything kept (JSON and their files), or its
 * erasure — their words and files removed, the contact anonymized, an audit entry kept. */
function CustomerData({ contactId }: { contactId: Id }) {
  const [confirming, setConfirming] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const exportData = async () => {
    setError(null);
    try {
      const zip = await request<Blob>("POST", `/api/v1/contacts/${contactId}/export`, { blob: true });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(zip);
      link.download = `customer-${contactId}.zip`;
      link.click();
      URL.revokeObjectURL(link.href);
      setStatus("Exported: the file is in your downloads.");
    } catch (err) {
      setError(errorDetail(err));
    }
  };
  const erase = async () => {
    setError(null);
    try {
      await request("POST", `/api/v1/contacts/${contactId}/erase`);
      setConfirming(false);
      setStatus("Erased: the customer's messages and files are gone; the audit log keeps that it happened.");
    } catch (err) {
      setError(errorDetail(err));
    }
  };
  return (
    <section class="customer-data" aria-label="Customer data">
      <h3>Customer data</h3>
      <div class="actions">
        <button type="button" class="btn small" onClick={() => void exportData()}>
          Export data
        </button>
        <button type="button" class="btn small danger" onClick={() => setConfirming(true)}>
          Erase data
        </button>
      </div>
      {confirming && (
        <div role="alertdialog" aria-label="Erase this customer's data" class="confirm">
          <p>Everything this customer wrote and sent is removed and the contact anonymized. This cannot be undone.</p>
          <button type="button" class="btn small danger" onClick={() => void erase()}>
            Erase for good
          </button>
          <button type="button" class="btn small ghost" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      {status && (
        <p role="status" class="small">
          {status}
        </p>
      )}
      {error && (
        <p role="alert" class="error small">
          {error}
        </p>
      )}
    </section>
  );
}
