// The mining demo page: connects under a key with the shared client module, starts jobs with
// POST /mine/<key>?difficulty=N, and shows what the server pushes to that key.
//
// URL parameters: ?key=K (default: a random miner-xxxx kept in localStorage) and
// ?difficulty=N (1..7, default 4).

import { EndpointClient, statusLabel } from "/websocket.js";

const $ = (id) => document.getElementById(id);

const KEY_STORAGE = "wsendpoint.mining.key";
/** After this long without a push, a job shown as running is given up (see `tick`). */
const STALE_JOB_MS = 15_000;
const LOG_LINES = 40;

const numbers = new Intl.NumberFormat();
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

const params = new URLSearchParams(location.search);

/** What the page knows of the key's job. */
const job = {
  /** idle | running | done | failed, mirrored in #job[data-state]. */
  state: "idle",
  /** Whether this page started it (the Mine button stays disabled until it ends). */
  own: false,
  difficulty: null,
  attempts: 0,
  startedAt: 0,
  /** Whether the job was followed from its first push (attempts 0), so its average is known. */
  fromStart: false,
  lastPushAt: 0,
  sample: null,
  rate: 0,
};

/** Pushes received so far: tells whether the job spoke before its POST was answered. */
let pushes = 0;

// A demo server restarts often: retry within 10 s at most.
const client = new EndpointClient({ url: "/websocket/{key}", backoff: { maxMs: 10_000 } });

// ---- the key ----

function storedKey() {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null; // storage disabled
  }
}

function storeKey(key) {
  try {
    localStorage.setItem(KEY_STORAGE, key);
  } catch {
    // storage disabled: the key lives as long as the page
  }
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(2));
  return `miner-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function initialKey() {
  const fromUrl = params.get("key")?.trim();
  if (fromUrl) return fromUrl;
  let key = storedKey();
  if (!key) {
    key = randomKey();
    storeKey(key);
  }
  return key;
}

function useKey(key) {
  $("key").value = key;
  $("key-in-url").textContent = encodeURIComponent(key);
  const link = new URL(location.href);
  link.searchParams.set("key", key);
  $("share").href = link.pathname + link.search;
  client.init(key);
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("key").value.trim();
  if (!key) return;
  storeKey(key);
  const url = new URL(location.href);
  url.searchParams.set("key", key);
  history.replaceState(null, "", url);
  if (job.state === "running") setJob("idle", "Switched keys: the previous key's job is no longer followed here.");
  useKey(key);
});

// ---- connection status ----

client.addEventListener("status", (event) => {
  const { status } = event.detail;
  const el = $("status");
  el.dataset.status = status;
  el.textContent = statusLabel(event.detail);
  updateMineButton();
});

client.addEventListener("message", (event) => onMessage(event.detail, event.replayed));

// What was sent while the page was away and can no longer be replayed: say so, and stop
// showing a job whose end may have been missed.
client.addEventListener("gap", (event) => {
  log(`⚠ missed messages that the server no longer keeps (${event.detail.reason})`);
  if (job.state === "running") setJob("idle", "The job's end was missed: start another one.");
});

client.addEventListener("error", (event) => {
  const { kind, message } = event.detail;
  // A failed attempt is visible in the status already.
  if (kind !== "socket") log(`⚠ ${kind}: ${message}`);
});

client.addEventListener("close", (event) => {
  const { code, reason, opened, deliberate } = event.detail;
  if (opened && !deliberate) log(`connection lost (${code}${reason ? ` ${reason}` : ""})`);
});

// ---- pushes ----

function onMessage(message, replayed) {
  log(`${replayed ? "(replayed) " : ""}${JSON.stringify(message)}`);
  if (message === null || typeof message !== "object") return;
  if ("code" in message) pushes += 1;
  switch (message.code) {
    case "01":
      onProgress(Number(message.data));
      return;
    case "00":
      onBlock(message.data ?? {});
      return;
    case "02":
      job.own = false;
      setJob("failed", `Failed: ${message.msg || "the miner stopped"}.`);
      return;
    default:
    // {"type":"hello"|"pong"|"error"} are about the connection: logged above.
  }
}

/** Starts following a job: this page's (`own`) or one started elsewhere under the key. */
function beginJob(own, difficulty) {
  Object.assign(job, {
    own,
    difficulty,
    attempts: 0,
    startedAt: performance.now(),
    fromStart: false,
    lastPushAt: performance.now(),
    sample: null,
    rate: 0,
  });
  $("result").hidden = true;
  setAttempts(0);
  showRate(0);
  $("elapsed").textContent = "0.0 s";
  setJob("running", runningText());
}

function runningText() {
  const at = job.difficulty ? ` at difficulty ${job.difficulty}` : "";
  return job.own ? `Mining${at}…` : `Mining${at} (job started elsewhere under this key)…`;
}

function onProgress(attempts) {
  if (!Number.isFinite(attempts)) return;
  const now = performance.now();
  // Any progress after the end of a job, or a count that went back, is a new job.
  if (job.state !== "running" || attempts < job.attempts) beginJob(false, null);
  if (attempts === 0) {
    job.fromStart = true;
    job.startedAt = now;
  }
  if (job.sample && now > job.sample.at && attempts > job.sample.attempts) {
    const rate = ((attempts - job.sample.attempts) * 1000) / (now - job.sample.at);
    job.rate = job.rate ? 0.6 * job.rate + 0.4 * rate : rate;
    showRate(job.rate);
  }
  job.sample = { at: now, attempts };
  job.lastPushAt = now;
  job.attempts = attempts;
  setAttempts(attempts);
  tick();
}

function onBlock(block) {
  const now = performance.now();
  if (job.state !== "running") beginJob(false, null);
  const attempts = Number(block.attempts);
  const seconds = (now - job.startedAt) / 1000;
  job.attempts = attempts;
  job.own = false;
  setAttempts(attempts);
  if (job.fromStart && seconds > 0) {
    job.rate = attempts / seconds;
  }
  showRate(job.rate);
  $("elapsed").textContent = `${seconds.toFixed(1)} s`;
  $("meter").style.width = "100%";

  const hash = String(block.hash ?? "");
  const zeros = hash.length - hash.replace(/^0+/, "").length;
  const hashEl = $("hash");
  hashEl.replaceChildren();
  if (zeros > 0) {
    const span = document.createElement("span");
    span.className = "zeros";
    span.textContent = hash.slice(0, zeros);
    span.title = `${zeros} leading zero hex digit${zeros === 1 ? "" : "s"}`;
    hashEl.append(span);
  }
  hashEl.append(hash.slice(zeros));
  $("nonce").textContent = String(block.nonce);
  $("header").textContent = String(block.header ?? "");
  $("result-attempts").textContent = numbers.format(attempts);
  $("verified").textContent = "";
  $("verified").className = "hint";
  $("result").hidden = false;

  setJob(
    "done",
    `Block mined: ${zeros} leading zero${zeros === 1 ? "" : "s"} after ${numbers.format(attempts)} hashes` +
      (job.fromStart ? ` in ${seconds.toFixed(2)} s.` : "."),
  );
  verify(String(block.header ?? ""), hash);
}

/** Recomputes SHA-256(header) in the browser, where WebCrypto is available (secure contexts). */
async function verify(header, hash) {
  if (!globalThis.crypto?.subtle) return;
  try {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(header));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    if ($("hash").textContent !== hash) return; // a newer block is shown
    const ok = hex === hash;
    $("verified").textContent = ok
      ? "✓ Checked: SHA-256 of the header, recomputed in your browser, is this hash."
      : `✗ SHA-256 of the header is ${hex}, not the hash above.`;
    $("verified").className = ok ? "hint verified" : "hint";
  } catch {
    // no WebCrypto: nothing to show
  }
}

// ---- starting a job ----

$("mine-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = client.key;
  const difficulty = Number($("difficulty").value);
  beginJob(true, difficulty);
  updateMineButton();
  const pushesBefore = pushes;
  let response;
  let body = {};
  try {
    response = await fetch(`/mine/${encodeURIComponent(key)}?difficulty=${difficulty}`, {
      method: "POST",
    });
    body = await response.json().catch(() => ({}));
  } catch (error) {
    if (pushes === pushesBefore) {
      job.own = false;
      setJob("failed", `Could not start the job: ${error.message}.`);
    }
    return;
  }
  if (response.status === 202) {
    log(`job ${body.job} accepted (difficulty ${body.difficulty}, ${body.listeners} listening)`);
    return;
  }
  if (response.status === 409) {
    // The key's job started elsewhere: its pushes reach this page too.
    job.own = false;
    updateMineButton();
    if (job.state === "running") setJob("running", "A job is already running under this key: following it…");
    return;
  }
  if (pushes === pushesBefore) {
    job.own = false;
    const reason = body.error ?? `HTTP ${response.status}`;
    setJob("failed", `Could not start the job: ${reason}`);
  }
});

// ---- rendering ----

function setJob(state, text) {
  job.state = state;
  if (state !== "running") job.own = false;
  const el = $("job");
  el.dataset.state = state;
  el.textContent = text;
  updateMineButton();
}

function setAttempts(attempts) {
  const el = $("attempts");
  el.dataset.attempts = String(attempts);
  el.textContent = numbers.format(attempts);
  // Against the expected work, when the difficulty is known (not for a job started elsewhere).
  const expected = job.difficulty ? 16 ** job.difficulty : Infinity;
  $("meter").style.width = `${Math.min(100, (attempts / expected) * 100)}%`;
}

/** Shows a rate in #rate: its text is "<number> hashes/s", the unit in smaller type. */
function showRate(rate) {
  const el = $("rate");
  if (!rate) {
    el.textContent = "–";
    return;
  }
  const unit = document.createElement("span");
  unit.className = "unit";
  unit.textContent = "hashes/s";
  el.replaceChildren(`${compact.format(Math.round(rate))} `, unit);
}

/**
 * Mine needs a connection (a job pushes only to sessions already connected) and no job running
 * under the key: the server would answer 409 (a job started in another tab still streams here).
 */
function updateMineButton() {
  $("mine").disabled = client.status !== "open" || job.state === "running";
}

/** Elapsed time while running, and a way out of a job whose end this page missed. */
function tick() {
  if (job.state !== "running") return;
  const now = performance.now();
  $("elapsed").textContent = `${((now - job.startedAt) / 1000).toFixed(1)} s`;
  if (client.status === "open" && now - job.lastPushAt > STALE_JOB_MS) {
    setJob("idle", "No news from the job for a while: it may have ended while the connection was down.");
  }
}
setInterval(tick, 250);

function log(text) {
  const list = $("log");
  const item = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  item.append(time, text);
  list.append(item);
  while (list.children.length > LOG_LINES) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

// ---- start ----

const difficulty = Number(params.get("difficulty"));
if (Number.isInteger(difficulty) && difficulty >= 1 && difficulty <= 7) {
  $("difficulty").value = String(difficulty);
}
useKey(initialKey());
