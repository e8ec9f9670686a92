"use strict";
const $ = (id) => document.getElementById(id);
let me = null;          // {wa_id, name} or, for a username customer, {user_id, username, name}
let sent = [];          // what the business sent, as /sandbox/api/messages returns it
let lastRendered = "";

const ownKey = () => `switchboard-sandbox:${me.wa_id || me.user_id}`;
const identity = () => (me.wa_id ? { from: me.wa_id } : { user_id: me.user_id, username: me.username });
const own = () => JSON.parse(localStorage.getItem(ownKey()) || "[]");
function remember(entry) {
  const mine = own(); mine.push(entry);
  localStorage.setItem(ownKey(), JSON.stringify(mine.slice(-300)));
}

/** A business-scoped user id as WhatsApp gives one for a username customer (`CC.digits`). */
function newBsuid() {
  let digits = "";
  for (let i = 0; i < 20; i++) digits += Math.floor(Math.random() * 10);
  return "US." + digits;
}

function start(wa_id, name, username = null, user_id = null) {
  me = wa_id ? { wa_id, name } : { user_id: user_id || newBsuid(), username, name };
  localStorage.setItem("switchboard-sandbox:me", JSON.stringify(me));
  $("setup").hidden = true; $("chat").hidden = false; $("switch").hidden = false;
  $("title").firstChild.textContent = name + " ";
  $("subtitle").textContent = wa_id ? "+" + wa_id : "@" + username;
  lastRendered = ""; sent = [];
  poll();
  $("message").focus();
}

async function deliver(payload, shown) {
  const id = Math.random().toString(36).slice(2);
  const chosen = options();
  const at = chosen.timestamp ? new Date(chosen.timestamp * 1000) : new Date();
  remember({ id, at: at.toISOString(), text: shown, pending: true, echo: !!chosen.echo });
  render();
  try {
    const response = await fetch("/sandbox/api/inbound", {
      method: "POST", headers: { "Content-Type": "application/json" },
      // ?phone_number_id= writes to another sandbox channel than the default one.
      body: JSON.stringify({ ...identity(), name: me.name, ...channelNumber(), ...chosen, ...payload }),
    });
    const body = await response.json();
    const mine = own(); const entry = mine.find((m) => m.id === id) || {};
    entry.pending = false; entry.webhook = response.ok ? body.webhook_status : response.status;
    if (body.media_id && payload.media) entry.media = { id: body.media_id, type: payload.media.type };
    localStorage.setItem(ownKey(), JSON.stringify(mine));
    $("error").textContent = response.ok && body.webhook_status < 300 ? ""
      : `Switchboard answered ${response.ok ? body.webhook_status : response.status}`;
  } catch (error) {
    $("error").textContent = "Could not reach the server: " + error;
  }
  render(true);
}

/** Only web and our own links: a business message must never carry a `javascript:` (or `data:`)
 * URL into this page. Anything else is shown as text, not as a link. */
function safeUrl(url) {
  if (typeof url !== "string") return null;
  if (url.startsWith("/sandbox/")) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch (error) { return null; }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) if (child != null) node.append(child);
  return node;
}
const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

function tap(kind, reply, wamid) {
  const payload = { [kind]: reply, context_id: wamid };
  deliver(payload, reply.title);
}

function interactive(body, message, active) {
  const i = body.interactive || {};
  const parts = [];
  if (i.header && i.header.type === "text") parts.push(el("div", { className: "head", textContent: i.header.text }));
  if (i.body) parts.push(el("div", { textContent: i.body.text }));
  if (i.footer) parts.push(el("div", { className: "foot", textContent: i.footer.text }));
  const choices = el("div", { className: "choices" });
  const action = i.action || {};
  const option = (kind, reply) => active
    ? el("button", { type: "button", textContent: reply.title, onclick: () => tap(kind, reply, message.id) })
    : el("span", { className: "chip", textContent: reply.title });
  if (i.type === "button") {
    for (const button of action.buttons || []) choices.append(option("button_reply", button.reply));
  } else if (i.type === "list") {
    choices.append(el("div", { className: "list-label", textContent: "☰ " + (action.button || "Options") }));
    for (const section of action.sections || []) {
      if (section.title) choices.append(el("div", { className: "section", textContent: section.title }));
      for (const row of section.rows || []) {
        const reply = { id: row.id, title: row.title };
        if (row.description) reply.description = row.description;
        choices.append(el("div", { className: "row" }, option("list_reply", reply),
          row.description ? el("span", { className: "desc", textContent: row.description }) : null));
      }
    }
  } else if (i.type === "cta_url" && action.parameters) {
    const href = safeUrl(action.parameters.url);
    choices.append(href
      ? el("a", { href, target: "_blank", rel: "noopener", textContent: action.parameters.display_text })
      : el("span", { className: "chip", textContent: `${action.parameters.display_text} (${action.parameters.url})` }));
  }
  parts.push(choices);
  return parts;
}

/** A file on the phone: what the business sent (by media id, or a link) or the customer's own. */
function mediaNode(type, src, caption, filename) {
  if (type === "image" || type === "sticker") return el("img", { src, alt: caption || (type === "sticker" ? "Sticker" : "Photo") });
  if (type === "audio") return el("audio", { src, controls: true, preload: "metadata", ariaLabel: "Voice message" });
  if (type === "video") return el("video", { src, controls: true, preload: "metadata", ariaLabel: "Video" });
  return el("a", { className: "file", href: src, download: filename || "document", textContent: "📄 " + (filename || "Document") });
}
function businessContent(message, active) {
  const body = message.body || {};
  const content = body[message.type] || {};
  switch (message.type) {
    case "text": return [content.body];
    case "interactive": return interactive(body, message, active);
    case "template": {
      const params = (content.components || []).flatMap((c) => (c.parameters || []).map((p) => p.text).filter(Boolean));
      return [`Template “${content.name}” (${(content.language || {}).code})` + (params.length ? `\n${params.join(" · ")}` : "")];
    }
    case "location": return [`📍 ${content.name || ""} ${content.address || ""} (${content.latitude}, ${content.longitude})`];
    case "reaction": return [`Reacted ${content.emoji || "(removed)"}`];
    case "contacts": return ["👤 Contact card"];
    case "image": case "sticker": case "audio": case "video": case "document":
      if (content.id || content.link) {
        const src = content.id ? `/sandbox/api/media/${encodeURIComponent(content.id)}` : safeUrl(content.link);
        if (src) return [mediaNode(message.type, src, content.caption, content.filename), content.caption || null];
      }
    // fall through
    default: {
      const label = `[${message.type}] ${content.caption || content.filename || ""}`;
      const href = safeUrl(content.link);
      if (content.link && !href) return [label, el("div", { textContent: String(content.link) })];
      return href ? [label, el("div", {}, el("a", { href, target: "_blank", rel: "noopener", textContent: content.link }))] : [label];
    }
  }
}

function render(force = false) {
  if (!me) return;
  const mine = own();
  const signature = JSON.stringify([sent, mine]);
  if (!force && signature === lastRendered) return;
  lastRendered = signature;
  const lastInteractive = [...sent].reverse().find((m) => m.type === "interactive");
  const items = [
    ...sent.map((m) => ({ at: m.received_at, node: el("div", { className: "bubble business" },
      ...businessContent(m, lastInteractive && m.id === lastInteractive.id),
      el("div", { className: "meta", textContent: time(m.received_at) })) })),
    ...mine.map((m) => ({ at: m.at, node: el("div", { className: m.echo ? "bubble business echo" : "bubble customer" },
      m.media ? mediaNode(m.media.type, `/sandbox/api/media/${encodeURIComponent(m.media.id)}`, m.text, m.text) : m.text,
      el("div", { className: "meta", textContent: (m.echo ? "Business app · " : "") + time(m.at)
        + (m.pending ? " · sending" : m.webhook >= 300 ? ` · ${m.webhook}` : " ✓") })) })),
  ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.replaceChildren(...items.map((item) => item.node));
  if (atBottom || force) log.scrollTop = log.scrollHeight;
}

/** The options panel: an echo (the business typing on its phone), a message written earlier. */
function options() {
  const chosen = {};
  if ($("echo").checked) chosen.echo = true;
  const ago = Number($("written").value);
  if (ago > 0) chosen.timestamp = Math.floor(Date.now() / 1000) - ago;
  $("echo").checked = false; $("written").value = "0";  // for the next message only
  return chosen;
}

let polling = null;
async function poll() {
  clearTimeout(polling);
  if (!me) return;
  try {
    const who = me.wa_id ? `wa_id=${encodeURIComponent(me.wa_id)}` : `user_id=${encodeURIComponent(me.user_id)}`;
    const response = await fetch(`/sandbox/api/messages?${who}`);
    if (response.ok) { sent = await response.json(); render(); }
  } catch (error) { /* the server restarts; try again next second */ }
  polling = setTimeout(poll, 1000);
}

const byUsername = () => document.querySelector('input[name="identity"]:checked').value === "username";
for (const radio of document.querySelectorAll('input[name="identity"]')) {
  radio.addEventListener("change", () => {
    const username = byUsername();
    $("wa-field").hidden = username; $("wa").disabled = username; $("wa").required = !username;
    $("username-field").hidden = !username; $("username").disabled = !username; $("username").required = username;
  });
}
$("setup").addEventListener("submit", (event) => {
  event.preventDefault();
  if (byUsername()) start(null, $("name").value.trim(), $("username").value.trim());
  else start($("wa").value.replace(/\D/g, ""), $("name").value.trim());
});
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text) return;
  $("message").value = "";
  deliver({ text }, text);
});
function mediaType(file) {
  const mime = file.type || "application/octet-stream";
  if (mime === "image/webp") return "sticker";
  if (mime === "image/jpeg" || mime === "image/png") return "image";
  if (mime.startsWith("video/")) return "video";
  if (mime.startsWith("audio/")) return "audio";
  return "document";
}
$("attach").addEventListener("click", () => $("file").click());
$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  $("file").value = "";
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    const data = String(reader.result).split(",", 2)[1] || "";
    const caption = $("message").value.trim();
    $("message").value = "";
    const media = { type: mediaType(file), mime_type: file.type || "application/octet-stream", data, filename: file.name };
    if (caption && media.type !== "audio" && media.type !== "sticker") media.caption = caption;
    deliver({ media }, caption || file.name);
  };
  reader.readAsDataURL(file);
});
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("composer").requestSubmit(); }
});
$("switch").addEventListener("click", () => {
  me = null; clearTimeout(polling);
  $("setup").hidden = false; $("chat").hidden = true; $("switch").hidden = true;
  $("title").firstChild.textContent = "WhatsApp sandbox "; $("subtitle").textContent = "a customer's phone";
});

const params = new URLSearchParams(location.search);
function channelNumber() {
  const number = new URLSearchParams(location.search).get("phone_number_id");
  return number ? { phone_number_id: number } : {};
}
const saved = JSON.parse(localStorage.getItem("switchboard-sandbox:me") || "null");
$("wa").value = params.get("wa_id") || (saved && saved.wa_id) || "49155" + String(Math.floor(Math.random() * 1e6)).padStart(6, "0");
$("name").value = params.get("name") || (saved && saved.name) || "Sandbox customer";
if (params.get("wa_id")) start($("wa").value.replace(/\D/g, ""), $("name").value.trim() || "Sandbox customer");
