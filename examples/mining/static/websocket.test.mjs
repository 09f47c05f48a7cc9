// Unit tests of websocket.js: `node --test examples/mining/static/websocket.test.mjs`
// (node 20+, no packages). The client runs against a fake WebSocket and a fake clock, so every
// reconnect, heartbeat and queue decision is checked deterministically and instantly.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { DEFAULTS, EndpointClient, backoffDelay, endpointUrl, statusLabel } from "./websocket.js";

const BACKOFF = { initialMs: 500, maxMs: 30_000, factor: 2 };

describe("backoffDelay", () => {
  it("is full jitter below an exponentially growing bound", () => {
    const top = () => 0.999_999;
    assert.equal(backoffDelay(0, BACKOFF, () => 0.5), 250);
    assert.equal(backoffDelay(1, BACKOFF, () => 0.5), 500);
    assert.equal(backoffDelay(3, BACKOFF, () => 0.5), 2000);
    assert.equal(backoffDelay(0, BACKOFF, top), 499);
    assert.equal(backoffDelay(4, BACKOFF, top), 7999);
    assert.equal(backoffDelay(0, BACKOFF, () => 0), 0);
  });

  it("is capped at maxMs, even for huge attempts", () => {
    assert.equal(backoffDelay(6, BACKOFF, () => 0.5), 15_000); // 500 * 64 = 32000 -> 30000
    assert.equal(backoffDelay(10_000, BACKOFF, () => 0.5), 15_000);
    assert.equal(backoffDelay(Number.MAX_SAFE_INTEGER, BACKOFF, () => 1), 30_000);
  });

  it("treats negative, fractional and non-finite attempts sanely", () => {
    assert.equal(backoffDelay(-3, BACKOFF, () => 0.5), 250);
    assert.equal(backoffDelay(Number.NaN, BACKOFF, () => 0.5), 250);
    assert.equal(backoffDelay(Infinity, BACKOFF, () => 0.5), 250);
    assert.equal(backoffDelay(2.9, BACKOFF, () => 0.5), 1000);
  });

  it("clamps a misbehaving random source and falls back to the defaults", () => {
    assert.equal(backoffDelay(0, BACKOFF, () => 7), 500);
    assert.equal(backoffDelay(0, BACKOFF, () => -1), 0);
    assert.equal(backoffDelay(0, BACKOFF, () => Number.NaN), 0);
    assert.equal(backoffDelay(2, {}, () => 0.5), (DEFAULTS.backoff.initialMs * 4) / 2);
    assert.equal(backoffDelay(1, { initialMs: 100, factor: 0.5 }, () => 0.5), 100); // factor < 1 -> 2
  });

  it("stays within [0, bound) with Math.random", () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const bound = Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** attempt);
      for (let i = 0; i < 200; i++) {
        const delay = backoffDelay(attempt, BACKOFF);
        assert.ok(Number.isInteger(delay) && delay >= 0 && delay <= bound, `${attempt}: ${delay}`);
      }
    }
  });
});

describe("statusLabel", () => {
  it("names each status, with the attempt and its delay while reconnecting", () => {
    assert.equal(statusLabel({ status: "open" }), "Connected");
    assert.equal(statusLabel({ status: "closed", attempt: 3 }), "Disconnected");
    assert.equal(statusLabel({ status: "reconnecting", attempt: 0 }), "Reconnecting…");
    assert.equal(statusLabel({ status: "reconnecting", attempt: 2 }), "Reconnecting… (attempt 2)");
    assert.equal(
      statusLabel({ status: "reconnecting", attempt: 2, delayMs: 1500 }),
      "Reconnecting… (attempt 2, in 1.5 s)",
    );
  });
});

describe("endpointUrl", () => {
  it("fills {key} URL-encoded and turns http(s) into ws(s)", () => {
    assert.equal(
      endpointUrl("/websocket/{key}", "a b/c", "http://127.0.0.1:8090/?key=x"),
      "ws://127.0.0.1:8090/websocket/a%20b%2Fc",
    );
    assert.equal(endpointUrl("/ws/{key}", "k", "https://example.test/page"), "wss://example.test/ws/k");
    assert.equal(endpointUrl("ws://h:1/x/{key}", "k"), "ws://h:1/x/k");
  });

  it("calls a function with the raw key", () => {
    assert.equal(
      endpointUrl((room) => `/chat/${encodeURIComponent(room)}?nick=ada`, "r 1", "http://h/"),
      "ws://h/chat/r%201?nick=ada",
    );
  });

  it("refuses what cannot be a WebSocket URL", () => {
    assert.throws(() => endpointUrl("/relative/{key}", "k"), TypeError);
    assert.throws(() => endpointUrl("ftp://h/{key}", "k"), /ws, wss, http or https/);
  });
});

/** A manual clock: timers fire only when the test advances time. */
class Clock {
  now = 0;
  #timers = new Map();
  #next = 1;

  setTimeout = (fn, ms) => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (id) => {
    this.#timers.delete(id);
  };

  /** How many timers are pending. */
  get pending() {
    return this.#timers.size;
  }

  /** Runs every timer due within `ms`, in order, then sets the time to now + ms. */
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      let due = null;
      for (const [id, timer] of this.#timers) {
        if (timer.at <= end && (due === null || timer.at < due[1].at)) due = [id, timer];
      }
      if (due === null) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = end;
  }
}

/** A WebSocket class whose instances the test drives by hand. */
function fakeWebSocket() {
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.closedWith = null;
      sockets.push(this);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error("InvalidStateError: not open");
      this.sent.push(data);
    }
    close(code, reason) {
      this.closedWith = [code, reason];
      this.readyState = 2;
    }
    // What the network does:
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }
    receive(data) {
      this.onmessage?.({ data });
    }
    /** A failed connection, the browser way: `error`, then `close` with 1006. */
    fail() {
      this.readyState = 3;
      this.onerror?.({ type: "error" });
      this.onclose?.({ code: 1006, reason: "", wasClean: false });
    }
    /** A close by the server. */
    closeByServer(code = 1001, reason = "going away") {
      this.readyState = 3;
      this.onclose?.({ code, reason, wasClean: true });
    }
  }
  return { FakeSocket, sockets };
}

/** A client on fakes, recording every event it fires. */
function setup(options = {}) {
  const clock = new Clock();
  const { FakeSocket, sockets } = fakeWebSocket();
  const client = new EndpointClient({
    url: "/websocket/{key}",
    base: "http://127.0.0.1:8090/",
    WebSocket: FakeSocket,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => 0.5,
    ...options,
  });
  const events = [];
  for (const type of ["status", "message", "error", "open", "close"]) {
    client.addEventListener(type, (event) => events.push({ type, ...event.detail }));
  }
  const of = (type) => events.filter((event) => event.type === type);
  const statuses = () => of("status").map((event) => event.status);
  return { client, clock, sockets, events, of, statuses };
}

describe("EndpointClient", () => {
  it("starts closed, connects on init, and reports the status changes", () => {
    const { client, sockets, statuses, of } = setup();
    assert.equal(client.status, "closed");
    assert.equal(client.getStatus(), "closed");
    client.init("alice");
    assert.equal(sockets.length, 1);
    assert.equal(sockets[0].url, "ws://127.0.0.1:8090/websocket/alice");
    assert.equal(client.status, "connecting");
    sockets[0].open();
    assert.equal(client.getStatus(), "open");
    assert.deepEqual(statuses(), ["connecting", "open"]);
    assert.deepEqual(of("status")[1], {
      type: "status",
      status: "open",
      previous: "connecting",
      attempt: 0,
      delayMs: 0,
    });
    assert.deepEqual(of("open"), [{ type: "open", url: sockets[0].url, key: "alice" }]);
  });

  it("parses messages as JSON and reports non-JSON and binary as errors", () => {
    const { client, sockets, of } = setup();
    client.init("k");
    sockets[0].open();
    sockets[0].receive('{"code":"01","data":42}');
    sockets[0].receive("not json");
    sockets[0].receive(new ArrayBuffer(2));
    assert.deepEqual(of("message"), [{ type: "message", code: "01", data: 42 }]);
    const errors = of("error");
    assert.equal(errors.length, 2);
    assert.equal(errors[0].kind, "parse");
    assert.equal(errors[0].raw, "not json");
    assert.match(errors[0].message, /not JSON: "not json"/);
    assert.ok(errors[0].error instanceof SyntaxError);
    assert.equal(errors[1].kind, "binary");
  });

  it("sends objects as JSON and strings as they are", () => {
    const { client, sockets } = setup();
    client.init("k");
    sockets[0].open();
    assert.equal(client.send({ type: "say", text: "hi" }), true);
    assert.equal(client.send("ping"), true);
    assert.deepEqual(sockets[0].sent, ['{"type":"say","text":"hi"}', "ping"]);
    assert.throws(() => client.send(undefined), TypeError);
    assert.throws(() => client.send(10n), TypeError);
  });

  it("queues sends while not open and flushes them in order before `open` listeners run", () => {
    const { client, sockets } = setup();
    assert.equal(client.send({ n: 1 }), false, "queued before init");
    client.init("k");
    assert.equal(client.send({ n: 2 }), false, "queued while connecting");
    assert.equal(client.queued, 2);
    client.addEventListener("open", () => client.send({ n: 3 }));
    sockets[0].open();
    assert.deepEqual(sockets[0].sent, ['{"n":1}', '{"n":2}', '{"n":3}']);
    assert.equal(client.queued, 0);
  });

  it("bounds the queue, dropping the oldest and reporting each drop", () => {
    const { client, sockets, of } = setup({ queueLimit: 2 });
    client.send("a");
    client.send("b");
    client.send("c");
    client.send("d");
    assert.equal(client.queued, 2);
    assert.deepEqual(
      of("error").map((e) => [e.kind, e.raw]),
      [
        ["queue-full", "a"],
        ["queue-full", "b"],
      ],
    );
    client.init("k");
    sockets[0].open();
    assert.deepEqual(sockets[0].sent, ["c", "d"]);
  });

  it("with queueLimit 0 drops the send itself", () => {
    const { client, of } = setup({ queueLimit: 0 });
    assert.equal(client.send("x"), false);
    assert.equal(client.queued, 0);
    assert.deepEqual(
      of("error").map((e) => [e.kind, e.raw]),
      [["queue-full", "x"]],
    );
  });

  it("reconnects once when error and close both fire, with growing jittered delays", () => {
    const { client, clock, sockets, of } = setup();
    client.init("k");
    sockets[0].fail(); // error + close of a first attempt
    assert.equal(client.status, "reconnecting");
    assert.equal(of("close").length, 1, "one close event for one socket");
    assert.equal(clock.pending, 1, "exactly one reconnect scheduled");
    const waits = of("status").filter((e) => e.status === "reconnecting");
    assert.deepEqual(
      waits.map((e) => [e.attempt, e.delayMs]),
      [[1, 250]],
    );

    clock.advance(249);
    assert.equal(sockets.length, 1, "not before its delay");
    clock.advance(1);
    assert.equal(sockets.length, 2);
    sockets[1].fail();
    clock.advance(500);
    assert.equal(sockets.length, 3);
    sockets[2].fail();
    clock.advance(1000);
    assert.equal(sockets.length, 4);
    assert.deepEqual(
      of("status")
        .filter((e) => e.status === "reconnecting" && e.delayMs > 0)
        .map((e) => [e.attempt, e.delayMs]),
      [
        [1, 250],
        [2, 500],
        [3, 1000],
      ],
    );
    // The status stays `reconnecting` through the attempts (no flapping), then opens.
    sockets[3].open();
    assert.equal(client.status, "open");
    assert.deepEqual(of("status").at(-1), {
      type: "status",
      status: "open",
      previous: "reconnecting",
      attempt: 3,
      delayMs: 0,
    });
  });

  it("starts the backoff over only after a connection stayed up for stableAfterMs", () => {
    const { client, clock, sockets, of } = setup({ stableAfterMs: 5000 });
    client.init("k");
    sockets[0].fail();
    clock.advance(250);
    sockets[1].fail();
    clock.advance(500);
    // Opens, but drops before it is stable: the backoff keeps growing.
    sockets[2].open();
    clock.advance(4999);
    sockets[2].closeByServer(1011, "oops");
    assert.equal(of("status").at(-1).delayMs, 1000);
    clock.advance(1000);
    sockets[3].open();
    clock.advance(5000);
    assert.equal(client.attempt, 0, "stable: reset");
    sockets[3].closeByServer();
    assert.equal(of("status").at(-1).delayMs, 250, "back to the first delay");
    assert.deepEqual(of("close").at(-1), {
      type: "close",
      code: 1001,
      reason: "going away",
      wasClean: true,
      deliberate: false,
      opened: true,
    });
  });

  it("never reconnects after a deliberate close", () => {
    const { client, clock, sockets, statuses, of } = setup();
    client.init("k");
    sockets[0].open();
    client.close(1000, "bye");
    assert.deepEqual(sockets[0].closedWith, [1000, "bye"]);
    assert.equal(client.status, "closed");
    // The browser reports the close later: ignored.
    sockets[0].closeByServer(1000, "bye");
    clock.advance(120_000);
    assert.equal(sockets.length, 1);
    assert.deepEqual(statuses(), ["connecting", "open", "closed"]);
    assert.equal(of("close").length, 1);
    assert.equal(of("close")[0].deliberate, true);
  });

  it("close() during a reconnect wait cancels the attempt", () => {
    const { client, clock, sockets } = setup();
    client.init("k");
    sockets[0].fail();
    client.close();
    clock.advance(120_000);
    assert.equal(sockets.length, 1);
    assert.equal(client.status, "closed");
    assert.equal(clock.pending, 0);
  });

  it("init(newKey) replaces the socket and ignores the old one's late events", () => {
    const { client, clock, sockets, of } = setup();
    client.init("old");
    sockets[0].open();
    client.init("new");
    assert.equal(sockets.length, 2);
    assert.equal(sockets[1].url, "ws://127.0.0.1:8090/websocket/new");
    assert.equal(client.key, "new");
    assert.deepEqual(sockets[0].closedWith, [1000, "reconnecting under a new key"]);
    // Late events of the replaced socket change nothing.
    sockets[0].receive('{"stale":true}');
    sockets[0].fail();
    clock.advance(60_000);
    assert.equal(sockets.length, 2, "no reconnect for a replaced socket");
    assert.equal(of("message").length, 0);
    assert.equal(client.status, "connecting");
    sockets[1].open();
    assert.equal(client.status, "open");
  });

  it("pings after intervalMs of silence and reconnects when nothing answers", () => {
    const { client, clock, sockets, of } = setup({
      heartbeat: { intervalMs: 1000, timeoutMs: 500 },
    });
    client.init("k");
    sockets[0].open();
    clock.advance(999);
    assert.deepEqual(sockets[0].sent, []);
    clock.advance(1);
    assert.deepEqual(sockets[0].sent, ['{"type":"ping"}']);
    sockets[0].receive('{"type":"pong"}'); // alive
    clock.advance(1000);
    assert.equal(sockets[0].sent.length, 2, "the next ping, a full interval after the pong");
    clock.advance(499);
    assert.equal(sockets.length, 1);
    clock.advance(1); // no answer within timeoutMs: dead
    assert.deepEqual(sockets[0].closedWith, [4000, "heartbeat timeout"]);
    assert.equal(of("error").at(-1).kind, "timeout");
    assert.equal(client.status, "reconnecting");
    // The dead socket's close, when it finally comes, is ignored.
    sockets[0].closeByServer(1006, "");
    assert.equal(of("close").length, 1);
    clock.advance(250);
    assert.equal(sockets.length, 2);
  });

  it("counts any traffic as alive and sends a configured heartbeat message", () => {
    const { client, clock, sockets } = setup({
      heartbeat: { intervalMs: 1000, timeoutMs: 500, message: "ping" },
    });
    client.init("k");
    sockets[0].open();
    for (let i = 0; i < 20; i++) {
      clock.advance(900);
      sockets[0].receive('{"code":"01","data":1}');
    }
    assert.deepEqual(sockets[0].sent, [], "a busy connection needs no ping");
    clock.advance(1000);
    assert.deepEqual(sockets[0].sent, ["ping"]);
    sockets[0].receive("not json, still traffic");
    clock.advance(999);
    assert.equal(client.status, "open");
  });

  it("heartbeat: false disables it", () => {
    const { client, clock, sockets } = setup({ heartbeat: false });
    client.init("k");
    sockets[0].open();
    clock.advance(10 * 60_000);
    assert.deepEqual(sockets[0].sent, []);
    assert.equal(client.status, "open");
  });

  it("a close listener may take over with init() without a double connection", () => {
    const { client, clock, sockets } = setup();
    client.init("a");
    sockets[0].open();
    client.addEventListener(
      "close",
      (event) => {
        if (!event.detail.deliberate) client.init("b");
      },
      { once: true },
    );
    sockets[0].fail();
    clock.advance(60_000);
    assert.deepEqual(
      sockets.map((s) => s.url.split("/").at(-1)),
      ["a", "b"],
    );
  });

  it("several clients on one page are independent", () => {
    const clock = new Clock();
    const { FakeSocket, sockets } = fakeWebSocket();
    const options = {
      url: (key) => `ws://h/${key}`,
      WebSocket: FakeSocket,
      setTimeout: clock.setTimeout,
      clearTimeout: clock.clearTimeout,
    };
    const one = new EndpointClient({ ...options, key: "one" });
    const two = new EndpointClient({ ...options, key: "two" });
    one.init();
    two.init();
    sockets[0].open();
    one.send("x");
    two.send("y"); // two is still connecting: queued
    assert.deepEqual(sockets[0].sent, ["x"]);
    assert.equal(two.queued, 1);
    one.close();
    assert.equal(two.status, "connecting");
    sockets[1].open();
    assert.deepEqual(sockets[1].sent, ["y"]);
    assert.deepEqual([one.key, two.key], ["one", "two"]);
  });

  it("a URL the WebSocket constructor refuses leaves the client closed with an error", () => {
    class Refusing {
      constructor(url) {
        throw new SyntaxError(`invalid URL ${url}`);
      }
    }
    const { client, of } = setup({ WebSocket: Refusing });
    client.init("k");
    assert.equal(client.status, "closed");
    assert.equal(of("error")[0].kind, "url");
  });
});

describe("EndpointClient on an endpoint with history", () => {
  const frame = (fields) => JSON.stringify(fields);
  const message = (offset, data, extra = {}) =>
    frame({ $ws: "message", epoch: "ep1", offset, data: JSON.stringify(data), ...extra });

  /** A client on fakes that also records `gap` and `recovered`, and each message's flags. */
  function historySetup(options) {
    const context = setup(options);
    const messages = [];
    context.client.addEventListener("message", (event) =>
      messages.push({ value: event.detail, replayed: event.replayed, position: event.position }),
    );
    for (const type of ["gap", "recovered"]) {
      context.client.addEventListener(type, (event) => context.events.push({ type, ...event.detail }));
    }
    return { ...context, messages };
  }

  it("unwraps history messages and resumes from the last one after a lost connection", () => {
    const { client, clock, sockets, messages, of } = historySetup();
    client.init("k");
    sockets[0].open();
    sockets[0].receive(frame({ $ws: "position", epoch: "ep1", offset: 4 }));
    assert.deepEqual(client.position, { epoch: "ep1", offset: 4 });
    sockets[0].receive(message(5, { n: 5 }));
    sockets[0].receive('{"plain":true}');
    assert.deepEqual(messages, [
      { value: { n: 5 }, replayed: false, position: { epoch: "ep1", offset: 5 } },
      { value: { plain: true }, replayed: false, position: undefined },
    ]);
    sockets[0].fail();
    clock.advance(60_000);
    assert.equal(sockets[1].url, "ws://127.0.0.1:8090/websocket/k?ws_since=ep1%3A5");
    sockets[1].open();
    sockets[1].receive(message(6, { n: 6 }, { replayed: true }));
    sockets[1].receive(frame({ $ws: "recovered", epoch: "ep1", offset: 6, replayed: 1 }));
    assert.deepEqual(messages.at(-1), {
      value: { n: 6 },
      replayed: true,
      position: { epoch: "ep1", offset: 6 },
    });
    assert.deepEqual(of("recovered"), [
      { type: "recovered", key: "k", epoch: "ep1", offset: 6, replayed: 1 },
    ]);
  });

  it("never hands the same message over twice", () => {
    const { client, sockets, messages } = historySetup();
    client.init("k");
    sockets[0].open();
    sockets[0].receive(message(1, "a"));
    sockets[0].receive(message(2, "b"));
    sockets[0].receive(message(2, "b", { replayed: true }));
    sockets[0].receive(message(1, "a", { replayed: true }));
    sockets[0].receive(frame({ $ws: "message", epoch: "ep2", offset: 1, data: '"c"' }));
    assert.deepEqual(
      messages.map((m) => m.value),
      ["a", "b", "c"],
      "a new epoch starts over",
    );
  });

  it("reports a gap and resumes from where the server stands", () => {
    const { client, clock, sockets, of } = historySetup();
    client.init("k");
    sockets[0].open();
    sockets[0].receive(message(3, "x"));
    sockets[0].closeByServer(1001);
    clock.advance(60_000);
    sockets[1].open();
    sockets[1].receive(frame({ $ws: "gap", epoch: "ep9", offset: 0, reason: "history_lost" }));
    assert.deepEqual(of("gap"), [
      { type: "gap", key: "k", epoch: "ep9", offset: 0, reason: "history_lost" },
    ]);
    assert.deepEqual(client.position, { epoch: "ep9", offset: 0 });
    sockets[1].fail();
    clock.advance(60_000);
    assert.match(sockets[2].url, /\?ws_since=ep9%3A0$/);
  });

  it("keeps a position per key, and none with resume: false", () => {
    const { client, sockets } = historySetup();
    client.init("a");
    sockets[0].open();
    sockets[0].receive(message(7, 1));
    client.init("b");
    assert.equal(sockets[1].url, "ws://127.0.0.1:8090/websocket/b");
    client.init("a");
    assert.match(sockets[2].url, /\/a\?ws_since=ep1%3A7$/);
    const off = historySetup({ resume: false });
    off.client.init("a");
    off.sockets[0].open();
    off.sockets[0].receive(message(7, 1));
    off.client.init("a");
    assert.equal(off.sockets[1].url, "ws://127.0.0.1:8090/websocket/a");
  });

  it("reports history data that is not JSON as a parse error", () => {
    const { client, sockets, of } = historySetup();
    client.init("k");
    sockets[0].open();
    sockets[0].receive(frame({ $ws: "message", epoch: "e", offset: 1, data: "not json" }));
    assert.equal(of("error")[0].kind, "parse");
    assert.deepEqual(client.position, { epoch: "e", offset: 1 });
  });
});
