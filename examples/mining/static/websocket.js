/**
 * A small WebSocket client for wsendpoint pages: an ES module, no dependencies, no build step.
 *
 * It keeps the surface of the well-known `Init(key)` / `Send(...)` / `getStatus()` pattern and
 * fixes its flaws:
 *
 * - reconnects with exponential backoff and full jitter, capped, and starts over from the
 *   shortest delay once a connection stayed up for `stableAfterMs`; never after a deliberate
 *   {@link EndpointClient#close}; one reconnect per lost socket even when `error` and `close`
 *   both fire, and a replaced socket's late events are ignored;
 * - a heartbeat: after `intervalMs` without any incoming traffic it sends `message`
 *   (`{"type":"ping"}`), and if nothing at all arrives within `timeoutMs` after that, the
 *   connection is taken for dead, closed, and reconnected;
 * - sends made while not connected are queued (at most `queueLimit`, the OLDEST dropped first)
 *   and flushed in order as soon as the next connection opens;
 * - status changes and messages are events; messages are parsed as JSON, and a message that is
 *   not JSON is an `error` event of kind `parse` carrying the raw text;
 * - nothing global: every client has its own key, socket, timers and queue;
 * - on an endpoint with history (`history = "2m"`), it remembers the position of the last
 *   message it got per key and reconnects with it (`?ws_since=<epoch>:<offset>`): what was sent
 *   while it was away arrives first, as ordinary `message` events with `event.replayed` set,
 *   none twice; when the server can no longer replay it, a `gap` event says so, for the page to
 *   reload its state.
 *
 * ```js
 * import { EndpointClient } from "/websocket.js";
 *
 * const client = new EndpointClient({ url: "/websocket/{key}" });
 * client.addEventListener("status", (e) => console.log(e.detail.status));
 * client.addEventListener("message", (e) => console.log("got", e.detail));
 * client.addEventListener("error", (e) => console.warn(e.detail.kind, e.detail.message));
 * client.init("alice");            // connects to ws(s)://<this host>/websocket/alice
 * client.send({ type: "ping" });   // JSON-encoded; queued until the connection is open
 * client.close();                  // deliberate: no reconnect
 * ```
 *
 * Sends are at most once: a message handed to a socket that dies before the server reads it is
 * lost. What the server pushes to the key of an endpoint with history is exactly once, across
 * reconnects, or a `gap` event; on other endpoints what it pushed while the client was away is
 * lost.
 *
 * @module websocket
 */

/**
 * @typedef {"connecting" | "open" | "reconnecting" | "closed"} Status
 * `connecting`: the first connection after {@link EndpointClient#init};
 * `open`: connected, sends go out at once;
 * `reconnecting`: the connection was lost or could not be made, and the client is waiting
 * for its next attempt or making it;
 * `closed`: not started yet, or closed deliberately with {@link EndpointClient#close}.
 */

/**
 * @typedef {object} Backoff
 * @property {number} initialMs the delay bound of the first reconnect attempt
 * @property {number} maxMs no delay is ever longer than this
 * @property {number} factor how much the bound grows per failed attempt (2 doubles it)
 */

/**
 * @typedef {object} Heartbeat
 * @property {number} intervalMs idle time (nothing received) after which a ping is sent;
 *   0 disables the heartbeat
 * @property {number} timeoutMs how long to wait for any traffic after a ping before the
 *   connection is taken for dead and replaced
 * @property {unknown} message what to send: a string as it is, anything else JSON-encoded
 */

/**
 * @typedef {object} Options
 * @property {string | ((key: string) => string)} [url] where to connect: a function of the key,
 *   or a string in which `{key}` is replaced by the URL-encoded key. A relative URL
 *   (`/websocket/{key}`) is resolved against the page, `http` becoming `ws` and `https` `wss`.
 *   Default `"/websocket/{key}"`.
 * @property {string} [key] the key used by {@link EndpointClient#init} when it is given none
 * @property {Partial<Backoff>} [backoff] default `{initialMs: 500, maxMs: 30000, factor: 2}`
 * @property {Partial<Heartbeat> | false} [heartbeat] default
 *   `{intervalMs: 20000, timeoutMs: 10000, message: {type: "ping"}}`; `false` disables it
 * @property {number} [queueLimit] how many sends are kept while not connected (default 100;
 *   0 keeps none)
 * @property {number} [stableAfterMs] how long a connection must stay open before the backoff
 *   starts over from `initialMs` (default 5000)
 * @property {typeof WebSocket} [WebSocket] the WebSocket constructor (tests inject a fake)
 * @property {(fn: () => void, ms: number) => unknown} [setTimeout] timer (tests inject a clock)
 * @property {(id: unknown) => void} [clearTimeout] its counterpart
 * @property {() => number} [random] a number in [0, 1) for the jitter (default `Math.random`)
 * @property {string} [base] the URL relative `url`s resolve against (default the page's
 *   `location.href`)
 * @property {boolean} [resume] reconnect with the last position seen on an endpoint with
 *   history, to get what was missed (default true)
 */

/**
 * @typedef {object} Position where a message stands in its key's history (the server's
 *   `{"$ws": ...}` frames carry it)
 * @property {string} epoch changes whenever the server's history was lost
 * @property {number} offset the message's number in the epoch (below 2^53)
 */

/**
 * @typedef {object} GapDetail
 * @property {string} key the key whose messages were missed
 * @property {string} epoch the history's epoch now
 * @property {number} offset where the history stands now: the client resumes from there
 * @property {"history_lost" | "too_old" | "unknown_position" | string} reason
 *   `history_lost`: the history the client knew is gone (a restart, an expiry);
 *   `too_old`: what was missed is no longer kept; `unknown_position`: a position this history
 *   never handed out
 */

/**
 * @typedef {object} StatusDetail
 * @property {Status} status the new status
 * @property {Status} previous the status before; equal to `status` when a reconnect attempt
 *   failed and the next one is scheduled
 * @property {number} attempt reconnect attempts since the last stable connection (0 when none)
 * @property {number} delayMs when `reconnecting`: how long until the next attempt; else 0
 */

/**
 * @typedef {object} ErrorDetail
 * @property {"parse" | "binary" | "queue-full" | "socket" | "timeout" | "url"} kind
 *   `parse`: a text message that is not JSON (`raw` is the text, `error` the SyntaxError);
 *   `binary`: a binary message (`raw` is its data), which this client does not decode;
 *   `queue-full`: a send was dropped to keep the queue within `queueLimit` (`raw` is the dropped
 *   data, the oldest queued one, or the new one when `queueLimit` is 0);
 *   `socket`: the socket reported an error (a reconnect follows);
 *   `timeout`: the heartbeat got no answer within `timeoutMs` (a reconnect follows);
 *   `url`: the URL could not be built or the WebSocket constructor refused it (`error`); the
 *   client stays `closed`
 * @property {string} message a sentence for a log
 * @property {unknown} [raw] the data concerned
 * @property {unknown} [error] the underlying exception or event
 */

/**
 * @typedef {object} CloseDetail
 * @property {number} code the close code (1006 when the connection failed or was abandoned)
 * @property {string} reason the close reason
 * @property {boolean} wasClean whether the close handshake completed
 * @property {boolean} deliberate true for {@link EndpointClient#close} and for the socket
 *   {@link EndpointClient#init} replaces; false when the connection was lost
 * @property {boolean} opened whether this socket had opened (false: a failed attempt)
 */

/** The status values, for comparisons without string typos. */
export const STATUS = Object.freeze({
  CONNECTING: "connecting",
  OPEN: "open",
  RECONNECTING: "reconnecting",
  CLOSED: "closed",
});

const STATUS_LABELS = Object.freeze({
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
});

/**
 * A page's status line for a `status` event: "Connected", "Reconnecting… (attempt 2, in 1.5 s)".
 * @param {{status: string, attempt?: number, delayMs?: number}} detail the event's detail
 * @returns {string}
 */
export function statusLabel({ status, attempt = 0, delayMs = 0 }) {
  if (status === STATUS.RECONNECTING && attempt > 0) {
    const wait = delayMs ? `, in ${(delayMs / 1000).toFixed(1)} s` : "";
    return `Reconnecting… (attempt ${attempt}${wait})`;
  }
  return STATUS_LABELS[status] ?? status;
}

/** The defaults of {@link Options}; frozen, so copy before changing. */
export const DEFAULTS = Object.freeze({
  url: "/websocket/{key}",
  backoff: Object.freeze({ initialMs: 500, maxMs: 30_000, factor: 2 }),
  heartbeat: Object.freeze({
    intervalMs: 20_000,
    timeoutMs: 10_000,
    message: Object.freeze({ type: "ping" }),
  }),
  queueLimit: 100,
  stableAfterMs: 5_000,
});

/** `WebSocket.OPEN`, spelled out so that injected fakes need not define it. */
const OPEN = 1;
/** `WebSocket.CONNECTING`. */
const CONNECTING = 0;
/** The close code this client uses for a connection it abandons (a private-use code). */
const ABANDONED = 4000;

/**
 * The delay before reconnect attempt number `attempt` (0 for the first): exponential backoff
 * with "full jitter", a uniformly random delay between 0 and
 * `min(maxMs, initialMs * factor ** attempt)`.
 *
 * Full jitter spreads the reconnects of many clients that lost the same server over the whole
 * window instead of bunching them at its end. Pure: the randomness comes from `random`.
 *
 * @param {number} attempt failed attempts so far; negative or non-finite counts as 0
 * @param {Partial<Backoff>} [backoff] missing fields take {@link DEFAULTS}`.backoff`
 * @param {() => number} [random] a number in [0, 1); values outside are clamped
 * @returns {number} whole milliseconds, from 0 to `maxMs`
 *
 * @example
 * backoffDelay(0, { initialMs: 500, maxMs: 30000, factor: 2 }, () => 0.5); // 250
 * backoffDelay(3, { initialMs: 500, maxMs: 30000, factor: 2 }, () => 0.5); // 2000
 * backoffDelay(99, { initialMs: 500, maxMs: 30000, factor: 2 }, () => 0.5); // 15000
 */
export function backoffDelay(attempt, backoff = DEFAULTS.backoff, random = Math.random) {
  const { initialMs, maxMs, factor } = normalizeBackoff(backoff);
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // factor ** n overflows to Infinity for large n, which the min() turns into maxMs.
  const bound = Math.min(maxMs, initialMs * factor ** n);
  const r = Math.min(Math.max(Number(random()) || 0, 0), 1);
  return Math.min(Math.floor(r * bound), maxMs);
}

/**
 * The absolute `ws:`/`wss:` URL of `key`.
 *
 * @param {string | ((key: string) => string)} url a function of the key, or a string whose
 *   `{key}` placeholders are replaced by the URL-encoded key
 * @param {string} key
 * @param {string} [base] what a relative URL resolves against (the page's address)
 * @returns {string}
 * @throws {TypeError} for a relative URL without a base, or a scheme other than ws, wss,
 *   http or https
 *
 * @example
 * endpointUrl("/websocket/{key}", "a b", "https://example.test/x"); // "wss://example.test/websocket/a%20b"
 */
export function endpointUrl(url, key, base) {
  const raw =
    typeof url === "function"
      ? String(url(key))
      : String(url).replaceAll("{key}", encodeURIComponent(key ?? ""));
  let parsed;
  try {
    parsed = base === undefined ? new URL(raw) : new URL(raw, base);
  } catch {
    throw new TypeError(`cannot make a WebSocket URL of ${JSON.stringify(raw)}`);
  }
  const schemes = { "http:": "ws:", "https:": "wss:", "ws:": "ws:", "wss:": "wss:" };
  const scheme = schemes[parsed.protocol];
  if (!scheme) {
    throw new TypeError(`a WebSocket URL must be ws, wss, http or https, got ${parsed.href}`);
  }
  parsed.protocol = scheme;
  parsed.hash = "";
  return parsed.href;
}

/**
 * A WebSocket connection under a key that stays up: see the module documentation.
 *
 * Events (each a `CustomEvent`, the payload in `event.detail`):
 * - `status` ({@link StatusDetail}): on every status change, and again whenever a reconnect
 *   attempt failed and the next one is scheduled;
 * - `message` (the parsed JSON value): for every text message that is JSON; on an endpoint
 *   with history, `event.replayed` is true for a message sent while the client was away, and
 *   `event.position` is its {@link Position} (undefined for messages outside the history);
 * - `gap` ({@link GapDetail}): what was sent while away cannot be replayed;
 * - `recovered` (`{key, epoch, offset, replayed}`): a reconnect got everything it missed;
 * - `error` ({@link ErrorDetail});
 * - `open` (`{url, key}`): a connection opened (after the queue was flushed);
 * - `close` ({@link CloseDetail}): a socket of this client ended, or an attempt failed.
 *
 * @extends EventTarget
 */
export class EndpointClient extends EventTarget {
  /** @type {Status} */
  #status = STATUS.CLOSED;
  /** @type {string | undefined} */
  #key;
  /** The current socket; events of any other socket are stale and ignored. */
  #socket = null;
  /** Whether the current socket has opened. */
  #opened = false;
  /** Failed attempts since the last stable connection. */
  #attempt = 0;
  /** @type {Array<string | ArrayBuffer | ArrayBufferView | Blob>} */
  #queue = [];
  /** Pending timers: the next attempt, the stable-connection reset, the heartbeat's two. */
  #timers = { retry: null, stable: null, ping: null, dead: null };
  /** @type {Map<string, Position>} the last position seen, per key */
  #positions = new Map();
  #resume;

  #url;
  #backoff;
  /** @type {Heartbeat | null} */
  #heartbeat;
  #queueLimit;
  #stableAfterMs;
  #WebSocket;
  #setTimeout;
  #clearTimeout;
  #random;
  #base;

  /** @param {Options} [options] */
  constructor(options = {}) {
    super();
    this.#url = options.url ?? DEFAULTS.url;
    this.#key = options.key === undefined ? undefined : String(options.key);
    this.#backoff = normalizeBackoff(options.backoff);
    this.#heartbeat = normalizeHeartbeat(options.heartbeat);
    this.#queueLimit = nonNegative(options.queueLimit, DEFAULTS.queueLimit);
    this.#stableAfterMs = nonNegative(options.stableAfterMs, DEFAULTS.stableAfterMs);
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#setTimeout = options.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.#clearTimeout = options.clearTimeout ?? ((id) => globalThis.clearTimeout(id));
    this.#random = options.random ?? Math.random;
    this.#base = options.base ?? globalThis.location?.href;
    this.#resume = options.resume ?? true;
  }

  /** @returns {Status} the current status */
  get status() {
    return this.#status;
  }

  /** The `getStatus()` of the classic pattern: the same as {@link EndpointClient#status}. */
  getStatus() {
    return this.#status;
  }

  /** @returns {string | undefined} the key in use (or to be used by `init()`) */
  get key() {
    return this.#key;
  }

  /** @returns {string} the URL the client connects to for its key */
  get url() {
    return endpointUrl(this.#url, this.#key ?? "", this.#base);
  }

  /**
   * @returns {Position | undefined} the position of the last history message seen under the
   *   current key, which the next connection resumes from
   */
  get position() {
    const position = this.#positions.get(this.#key ?? "");
    return position && { ...position };
  }

  /** @returns {number} how many sends wait for the next connection */
  get queued() {
    return this.#queue.length;
  }

  /** @returns {number} reconnect attempts since the last stable connection */
  get attempt() {
    return this.#attempt;
  }

  /**
   * Connects under `key` (the classic `Init(key)`), or reconnects under it: a connection
   * that is open or being made is closed first (its late events are ignored), and the backoff
   * starts over. Sends queued so far stay queued and go out on the new connection.
   *
   * @param {string} [key] the key; default the current one (or `options.key`)
   * @returns {this}
   */
  init(key) {
    if (key !== undefined) this.#key = String(key);
    this.#abandon(1000, "reconnecting under a new key");
    this.#attempt = 0;
    this.#connect(STATUS.CONNECTING);
    return this;
  }

  /**
   * Sends `value`: a string as it is, binary data (`ArrayBuffer`, a typed array, `Blob`) as
   * binary, anything else JSON-encoded. While the connection is not open the data is queued,
   * at most `queueLimit` items: beyond that the OLDEST queued item is dropped (reported as an
   * `error` event of kind `queue-full`), so that what is sent after a reconnect is the most
   * recent. The queue is flushed in order as soon as a connection opens.
   *
   * @param {unknown} value
   * @returns {boolean} true if it went out now, false if it was queued (or dropped)
   * @throws {TypeError} for a value JSON cannot encode (`undefined`, a function, a BigInt, a
   *   cycle)
   */
  send(value) {
    const data = encode(value);
    const socket = this.#socket;
    if (socket && this.#opened && socket.readyState === OPEN) {
      socket.send(data);
      return true;
    }
    if (this.#queueLimit === 0) {
      this.#error("queue-full", "not connected and queueLimit is 0: message dropped", {
        raw: data,
      });
      return false;
    }
    while (this.#queue.length >= this.#queueLimit) {
      const dropped = this.#queue.shift();
      this.#error(
        "queue-full",
        `send queue full (${this.#queueLimit}): the oldest queued message was dropped`,
        { raw: dropped },
      );
    }
    this.#queue.push(data);
    return false;
  }

  /**
   * Drops the queued sends.
   *
   * @returns {Array<unknown>} what was queued, oldest first
   */
  clearQueue() {
    const queued = this.#queue;
    this.#queue = [];
    return queued;
  }

  /**
   * Closes deliberately: no reconnect until the next {@link EndpointClient#init}. The queue
   * is kept (see {@link EndpointClient#clearQueue}).
   *
   * @param {number} [code] a close code: 1000 or 3000–4999 (default 1000)
   * @param {string} [reason] at most 123 bytes of UTF-8
   */
  close(code = 1000, reason = "") {
    this.#abandon(code, reason);
    this.#attempt = 0;
    this.#setStatus(STATUS.CLOSED);
  }

  /** Makes a connection attempt for the current key. */
  #connect(status) {
    this.#clear("retry");
    let url;
    let socket;
    try {
      url = this.#resumeUrl();
      socket = new this.#WebSocket(url);
    } catch (error) {
      this.#error("url", `cannot connect: ${error?.message ?? error}`, { raw: url, error });
      this.#setStatus(STATUS.CLOSED);
      return;
    }
    if ("binaryType" in socket) socket.binaryType = "arraybuffer";
    this.#socket = socket;
    this.#opened = false;
    this.#setStatus(status);
    socket.onopen = () => {
      if (socket === this.#socket) this.#onOpen(socket, url);
    };
    socket.onmessage = (event) => {
      if (socket === this.#socket) this.#onMessage(event.data);
    };
    // In browsers an `error` is always followed by `close`; both lead to #lost, which acts
    // only for the current socket and detaches it first, so the second one is a no-op.
    socket.onerror = (event) => {
      if (socket !== this.#socket) return;
      this.#error("socket", `WebSocket error on ${url}`, { error: event });
      this.#lost(socket, { code: 1006, reason: "", wasClean: false });
    };
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      this.#lost(socket, {
        code: event?.code ?? 1006,
        reason: event?.reason ?? "",
        wasClean: Boolean(event?.wasClean),
      });
    };
  }

  #onOpen(socket, url) {
    this.#opened = true;
    // Flush before anyone hears of the open, so that sends made by listeners come after the
    // queued ones.
    while (this.#queue.length > 0 && socket.readyState === OPEN) {
      socket.send(this.#queue.shift());
    }
    this.#start("stable", this.#stableAfterMs, () => {
      this.#attempt = 0;
    });
    this.#armHeartbeat();
    this.#setStatus(STATUS.OPEN);
    this.#emit("open", { url, key: this.#key });
  }

  #onMessage(data) {
    this.#armHeartbeat();
    if (typeof data !== "string") {
      this.#error("binary", "a binary message arrived; this client reads JSON text only", {
        raw: data,
      });
      return;
    }
    const value = this.#parse(data);
    if (value === undefined) return;
    if (isHistoryFrame(value)) {
      this.#onHistory(value);
      return;
    }
    this.#emit("message", value, { replayed: false, position: undefined });
  }

  /** `text` parsed as JSON, or undefined after a `parse` error. */
  #parse(text) {
    try {
      return JSON.parse(text);
    } catch (error) {
      const preview = text.length > 80 ? `${text.slice(0, 80)}…` : text;
      this.#error("parse", `a message is not JSON: ${JSON.stringify(preview)}`, {
        raw: text,
        error,
      });
      return undefined;
    }
  }

  /** A frame of the key's history: a message with its position, or a notice. */
  #onHistory(frame) {
    const key = this.#key ?? "";
    const position = { epoch: frame.epoch, offset: frame.offset };
    const last = this.#positions.get(key);
    switch (frame.$ws) {
      case "message": {
        if (last && last.epoch === position.epoch && position.offset <= last.offset) return;
        this.#positions.set(key, position);
        const value = this.#parse(frame.data);
        if (value === undefined) return;
        this.#emit("message", value, { replayed: frame.replayed === true, position });
        return;
      }
      case "gap":
        this.#positions.set(key, position);
        this.#emit("gap", { key, ...position, reason: frame.reason });
        return;
      case "recovered":
        this.#emit("recovered", { key, ...position, replayed: frame.replayed });
        return;
      case "position":
        this.#positions.set(key, position);
        return;
      default:
    }
  }

  /** The URL of the next connection: with the position to resume from, if there is one. */
  #resumeUrl() {
    const url = this.url;
    const position = this.#resume ? this.#positions.get(this.#key ?? "") : undefined;
    if (position === undefined) return url;
    const parsed = new URL(url);
    parsed.searchParams.set("ws_since", `${position.epoch}:${position.offset}`);
    return parsed.href;
  }

  /**
   * The current socket ended without being asked to, or is given up (`abandon`: closed here
   * with {@link ABANDONED}): report it and schedule a reconnect.
   */
  #lost(socket, { code, reason, wasClean }, abandon = false) {
    const opened = this.#opened;
    this.#detach(socket);
    if (abandon) {
      try {
        socket.close(ABANDONED, reason);
      } catch {
        // A broken socket may refuse even that; it is forgotten anyway.
      }
    }
    this.#emit("close", { code, reason, wasClean, deliberate: false, opened });
    if (this.#socket !== null || this.#timers.retry !== null || this.#status === STATUS.CLOSED) {
      // A listener of `close` called init() or close(): it decided what comes next.
      return;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    const delayMs = backoffDelay(this.#attempt, this.#backoff, this.#random);
    this.#attempt += 1;
    this.#start("retry", delayMs, () => this.#connect(STATUS.RECONNECTING));
    this.#setStatus(STATUS.RECONNECTING, { delayMs });
  }

  /**
   * Stops whatever is going on on purpose: the retry timer, and the current socket, closed
   * with `code`/`reason` and reported by a `close` event (`deliberate`).
   */
  #abandon(code, reason) {
    this.#clear("retry");
    const socket = this.#socket;
    if (socket === null) return;
    const opened = this.#opened;
    this.#detach(socket);
    if (socket.readyState === OPEN || socket.readyState === CONNECTING) {
      try {
        socket.close(code, reason);
      } catch {
        socket.close();
      }
    }
    this.#emit("close", { code, reason, wasClean: false, deliberate: true, opened });
  }

  /** Forgets `socket`: no more of its events reach this client. */
  #detach(socket) {
    socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    if (socket === this.#socket) {
      this.#socket = null;
      this.#opened = false;
    }
    this.#clear("stable", "ping", "dead");
  }

  /** (Re)starts the heartbeat: a ping after `intervalMs` of silence. */
  #armHeartbeat() {
    this.#clear("ping", "dead");
    const heartbeat = this.#heartbeat;
    const socket = this.#socket;
    if (heartbeat === null || socket === null) return;
    this.#start("ping", heartbeat.intervalMs, () => {
      if (socket !== this.#socket || socket.readyState !== OPEN) return;
      socket.send(encode(heartbeat.message));
      this.#start("dead", heartbeat.timeoutMs, () => {
        if (socket !== this.#socket) return;
        this.#error(
          "timeout",
          `no traffic within ${heartbeat.timeoutMs} ms of a heartbeat: reconnecting`,
        );
        // A dead connection may take minutes to report its close: do not wait for it.
        this.#lost(socket, { code: ABANDONED, reason: "heartbeat timeout", wasClean: false }, true);
      });
    });
  }

  #clear(...names) {
    for (const name of names) {
      if (this.#timers[name] !== null) this.#clearTimeout(this.#timers[name]);
      this.#timers[name] = null;
    }
  }

  /** Starts timer `name`, replacing a pending one. */
  #start(name, ms, fn) {
    this.#clear(name);
    this.#timers[name] = this.#setTimeout(() => {
      this.#timers[name] = null;
      fn();
    }, ms);
  }

  /**
   * Sets the status and fires `status` when it changed, or when `force` is given (a new
   * reconnect delay).
   */
  #setStatus(status, force) {
    const previous = this.#status;
    if (previous === status && force === undefined) return;
    this.#status = status;
    const delayMs = force?.delayMs ?? 0;
    this.#emit("status", { status, previous, attempt: this.#attempt, delayMs });
  }

  #error(kind, message, extra = {}) {
    this.#emit("error", { kind, message, ...extra });
  }

  /** Fires `type` with `detail`, and `extra` as properties of the event itself. */
  #emit(type, detail, extra = undefined) {
    const event = new CustomEvent(type, { detail });
    if (extra !== undefined) Object.assign(event, extra);
    this.dispatchEvent(event);
  }
}

/**
 * Whether a parsed message is one of the frames a history adds (`{"$ws": "message", ...}`):
 * a name, an epoch and a safe integer offset.
 */
function isHistoryFrame(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.$ws === "string" &&
    typeof value.epoch === "string" &&
    Number.isSafeInteger(value.offset)
  );
}

/** Encodes a value for `WebSocket.send`. */
function encode(value) {
  if (typeof value === "string") return value;
  if (
    (typeof ArrayBuffer !== "undefined" &&
      (value instanceof ArrayBuffer || ArrayBuffer.isView(value))) ||
    (typeof Blob !== "undefined" && value instanceof Blob)
  ) {
    return value;
  }
  let json;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`cannot send this value as JSON: ${error.message}`);
  }
  if (json === undefined) {
    throw new TypeError(`cannot send ${String(value)} as JSON`);
  }
  return json;
}

/** @param {Partial<Backoff>} [backoff] @returns {Backoff} */
function normalizeBackoff(backoff = {}) {
  const defaults = DEFAULTS.backoff;
  const initialMs = nonNegative(backoff.initialMs, defaults.initialMs);
  const maxMs = nonNegative(backoff.maxMs, defaults.maxMs);
  const factor = Number.isFinite(backoff.factor) && backoff.factor >= 1 ? backoff.factor : defaults.factor;
  return { initialMs, maxMs, factor };
}

/** @param {Partial<Heartbeat> | false | undefined} heartbeat @returns {Heartbeat | null} */
function normalizeHeartbeat(heartbeat) {
  if (heartbeat === false) return null;
  const defaults = DEFAULTS.heartbeat;
  const intervalMs = nonNegative(heartbeat?.intervalMs, defaults.intervalMs);
  if (intervalMs === 0) return null;
  return {
    intervalMs,
    timeoutMs: nonNegative(heartbeat?.timeoutMs, defaults.timeoutMs),
    message: heartbeat?.message ?? defaults.message,
  };
}

function nonNegative(value, fallback) {
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}
