// The chat page: joins /chat/<room>?nick=<nickname> with the shared client module (the
// client's key is the room), sends {"type":"say"}, and shows messages, join/leave notices and
// who is online.
//
// URL parameters: ?room=R&nick=N fill the form and join at once when both are given.

import { EndpointClient, statusLabel } from "/websocket.js";

const $ = (id) => document.getElementById(id);

const NICK_STORAGE = "wsendpoint.chat.nick";
const MAX_NICK_CHARS = 32;
const MAX_ROOM_CHARS = 64;
const MAX_ITEMS = 500;

/** The room and nickname joined (or being joined); null before the first join. */
let joined = null;
/** Whether the connection opened since the last join: a failure before that is a refusal. */
let openedSinceJoin = false;
/** Whether the page said that sends are queued, since the connection was last open. */
let toldQueued = false;

const client = new EndpointClient({
  url: (room) => `/chat/${encodeURIComponent(room)}?nick=${encodeURIComponent(joined?.nick ?? "")}`,
  backoff: { maxMs: 10_000 },
});

// ---- joining ----

/** The same rules as the server's, so that a bad name is explained before any request. */
function problem(what, value, max, slash) {
  if (!value) return `Enter a ${what}.`;
  if ([...value].length > max) return `A ${what} has at most ${max} characters.`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return `A ${what} cannot contain control characters.`;
  if (slash && value.includes("/")) return `A ${what} cannot contain "/".`;
  return null;
}

function join(room, nick) {
  const error =
    problem("room name", room, MAX_ROOM_CHARS, true) ?? problem("nickname", nick, MAX_NICK_CHARS, false);
  if (error) {
    system(error, true);
    return;
  }
  try {
    localStorage.setItem(NICK_STORAGE, nick);
  } catch {
    // storage disabled
  }
  const url = new URL(location.href);
  url.searchParams.set("room", room);
  url.searchParams.set("nick", nick);
  history.replaceState(null, "", url);

  $("room").value = room;
  $("nick").value = nick;
  $("messages").replaceChildren();
  renderOnline([]);
  document.title = `${room} · wsendpoint chat`;
  joined = { room, nick };
  openedSinceJoin = false;
  client.clearQueue(); // meant for the previous room
  client.init(room);
}

$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  join($("room").value.trim(), $("nick").value.trim());
});

$("leave").addEventListener("click", () => {
  client.close(1000, "left");
  renderOnline([]);
  system(`You left ${joined.room}.`);
});

// ---- the connection ----

client.addEventListener("status", (event) => {
  const { status, previous } = event.detail;
  const el = $("status");
  el.dataset.status = status;
  el.textContent = statusLabel(event.detail);
  const active = status !== "closed";
  $("leave").disabled = !active;
  $("message").disabled = !active;
  $("send").disabled = !active;
  if (status === "open") {
    openedSinceJoin = true;
    toldQueued = false;
    system(`You are in ${joined.room} as ${joined.nick}.`);
  } else if (status === "reconnecting" && previous === "open") {
    system("Connection lost: reconnecting… (what you send meanwhile goes out once it is back)");
  }
});

client.addEventListener("close", async (event) => {
  if (event.detail.deliberate || event.detail.opened || openedSinceJoin) return;
  // Refused before it opened: the browser does not tell why. A taken nickname is the usual
  // reason (the server answers 409); then retrying is pointless.
  const attempt = joined;
  const nicks = await onlineIn(attempt.room);
  if (attempt !== joined || openedSinceJoin || !nicks?.includes(attempt.nick)) return;
  client.close(1000, "nickname taken");
  system(`The nickname “${attempt.nick}” is already online in ${attempt.room}: pick another one and join again.`, true);
});

async function onlineIn(room) {
  try {
    const response = await fetch(`/chat/${encodeURIComponent(room)}/online`);
    return response.ok ? (await response.json()).nicks : null;
  } catch {
    return null;
  }
}

client.addEventListener("error", (event) => {
  const { kind, message } = event.detail;
  if (kind === "queue-full") system("Too many unsent messages: the oldest one was dropped.", true);
  else if (kind !== "socket") console.warn(`chat: ${kind}: ${message}`);
});

client.addEventListener("message", (event) => {
  const message = event.detail;
  switch (message?.type) {
    case "message":
      addItem("message", message.nick, message.text);
      return;
    case "join":
      addItem("join", message.nick, `${message.nick} joined`);
      return;
    case "leave":
      addItem("leave", message.nick, `${message.nick} left`);
      return;
    case "online":
      renderOnline(Array.isArray(message.nicks) ? message.nicks : []);
      return;
    case "error":
      system(`The server says: ${message.msg}`, true);
      return;
    default:
    // hello, pong: nothing to show
  }
});

// ---- sending ----

$("say-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("message");
  const text = input.value.trim();
  if (!text || client.status === "closed") return;
  const sent = client.send({ type: "say", text });
  input.value = "";
  if (!sent && !toldQueued) {
    toldQueued = true;
    system("Not connected: what you send will go out when the connection is back.");
  }
});

// ---- rendering ----

function time() {
  const el = document.createElement("time");
  const now = new Date();
  el.dateTime = now.toISOString();
  el.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return el;
}

/**
 * Appends an item to #messages: `kind` is message|join|leave|system; a message carries its
 * text in data-text, every item its nickname in data-nick ("" for the page's own notes).
 */
function addItem(kind, nick, text, bad = false) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const item = document.createElement("li");
  item.dataset.kind = kind;
  item.dataset.nick = nick ?? "";
  if (kind === "message") {
    item.dataset.text = text;
    if (nick === joined?.nick) item.classList.add("mine");
    const who = document.createElement("span");
    who.className = "nick";
    who.textContent = nick;
    const said = document.createElement("span");
    said.className = "text";
    said.textContent = text;
    item.append(time(), who, said);
  } else {
    item.append(time(), text);
  }
  if (bad) item.classList.add("bad");
  list.append(item);
  while (list.children.length > MAX_ITEMS) list.firstElementChild.remove();
  if (atBottom || kind === "system" || nick === joined?.nick) list.scrollTop = list.scrollHeight;
}

function system(text, bad = false) {
  addItem("system", "", text, bad);
}

function renderOnline(nicks) {
  const items = nicks.map((nick) => {
    const item = document.createElement("li");
    item.dataset.nick = nick;
    item.textContent = nick;
    if (nick === joined?.nick) {
      item.classList.add("me");
      item.title = "you";
    }
    return item;
  });
  $("online").replaceChildren(...items);
  $("online-count").textContent = nicks.length ? `(${nicks.length})` : "";
}

// ---- start ----

const params = new URLSearchParams(location.search);
let storedNick = null;
try {
  storedNick = localStorage.getItem(NICK_STORAGE);
} catch {
  // storage disabled
}
const room = params.get("room")?.trim() || "lobby";
const nick = params.get("nick")?.trim() || storedNick || "";
$("room").value = room;
$("nick").value = nick;
if (params.get("room")?.trim() && params.get("nick")?.trim()) {
  join(room, nick);
} else {
  $(nick ? "room" : "nick").focus();
  system("Choose a room and a nickname, then join.");
}
