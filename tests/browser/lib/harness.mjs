// The harness of the browser tests: example servers on free ports, Debian's headless Chromium
// with a fresh profile, a record of what each page's WebSockets received, and clean-up that runs
// whatever happened (servers killed, browsers closed, profiles removed).
//
// Every wait here is for an event or a condition, with a timeout; nothing sleeps to synchronise.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

/** The repository's root: tests/browser/lib/ is three levels below it. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Where the example binaries are: `WSENDPOINT_EXAMPLES_DIR` (relative to the repository's root
 * unless absolute), by default `target/debug/examples`, where `cargo build --examples` puts them.
 */
export const EXAMPLES_DIR = path.resolve(
  REPO_ROOT,
  process.env.WSENDPOINT_EXAMPLES_DIR || 'target/debug/examples',
);

/** Debian's Chromium; `CHROMIUM` overrides it. Never a browser a test tool downloaded. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Screenshots a developer can look at: `target/screenshots/` of the repository. */
export const SCREENSHOTS_DIR = path.join(REPO_ROOT, 'target', 'screenshots');

/** What the example servers printed, one file per server started. */
export const LOGS_DIR = path.join(REPO_ROOT, 'target', 'browser-tests', 'logs');

/** The flags the issue asks for; the fresh `--user-data-dir` is given by `launchPersistentContext`. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // The machine's network is closed: QUIC probes would only fail.
  '--disable-quic',
];

/** A default bound for waits on a page: generous for a loaded 2-core machine, still finite. */
export const WAIT = 20_000;

/** Every server still running, so that an exiting test process never leaves one behind. */
const liveServers = new Set();
process.on('exit', () => {
  for (const server of liveServers) {
    try {
      server.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A port free on 127.0.0.1 right now: bind port 0, read it, close. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once `port` on 127.0.0.1 accepts a TCP connection; polls until `timeout` ms. */
export async function waitForPort(port, { timeout = 15_000, isDead = () => null } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const dead = isDead();
    if (dead) throw new Error(dead);
    const accepted = await new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > deadline) {
      throw new Error(`nothing accepted connections on 127.0.0.1:${port} within ${timeout} ms`);
    }
    // Polling interval of a bounded poll (the port has no event to wait on), not a synchronisation.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let serverCount = 0;

/** A running example binary (`mining`, `chat`), its output going to a log file. */
export class ExampleServer {
  constructor(name, port, child, logPath) {
    this.name = name;
    this.port = port;
    this.child = child;
    this.logPath = logPath;
    this.url = `http://127.0.0.1:${port}/`;
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.exited = null;
    this.exit.then((status) => {
      this.exited = status;
      liveServers.delete(this);
    });
  }

  /**
   * Starts `examples/<name>` on `port` (a free one unless given) and resolves once the port
   * accepts connections. Fails with the server's output if it exits first.
   */
  static async start(name, { port } = {}) {
    const binary = path.join(EXAMPLES_DIR, name);
    if (!fs.existsSync(binary)) {
      throw new Error(
        `no example binary ${binary}: build it with \`cargo build --examples\` ` +
          '(or point WSENDPOINT_EXAMPLES_DIR at the directory that has it)',
      );
    }
    port ??= await freePort();
    fs.mkdirSync(LOGS_DIR, { recursive: true });
    serverCount += 1;
    const logPath = path.join(LOGS_DIR, `${name}-${port}-${process.pid}-${serverCount}.log`);
    const log = fs.openSync(logPath, 'w');
    const child = spawn(binary, ['--port', String(port)], {
      cwd: REPO_ROOT,
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info', NO_COLOR: '1' },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    const server = new ExampleServer(name, port, child, logPath);
    liveServers.add(server);
    const spawnError = new Promise((_, reject) => child.once('error', reject));
    try {
      await Promise.race([
        spawnError,
        waitForPort(port, {
          isDead: () =>
            server.exited &&
            `${name} --port ${port} exited (${JSON.stringify(server.exited)}) before listening:\n${server.output()}`,
        }),
      ]);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** What the server printed so far. */
  output() {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Stops the server: `signal` (SIGINT is its Ctrl-C, a graceful shutdown), then SIGKILL if it
   * has not exited within `timeout` ms. Resolves once the process is gone.
   */
  async stop({ signal = 'SIGINT', timeout = 10_000 } = {}) {
    if (this.exited) return this.exited;
    this.child.kill(signal);
    let timer;
    const killed = new Promise((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, timeout);
    });
    await Promise.race([this.exit, killed]);
    clearTimeout(timer);
    return this.exit;
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of a server: what a page reaches through it goes offline
 * and comes back when the test says, as a laptop's Wi-Fi does. Offline, every connection it
 * carries is reset and every new one is reset at once; the server sees the peers vanish.
 */
export class NetworkProxy {
  constructor(server, target) {
    this.server = server;
    this.target = target;
    this.port = server.address().port;
    this.url = `http://127.0.0.1:${this.port}/`;
    this.online = true;
    /** Every socket pair carried, to cut them. */
    this.carried = new Set();
  }

  /** A proxy to `targetPort` on 127.0.0.1, listening on a free port. */
  static async start(targetPort) {
    const server = net.createServer();
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const proxy = new NetworkProxy(server, targetPort);
    server.on('connection', (client) => proxy.#carry(client));
    return proxy;
  }

  #carry(client) {
    if (!this.online) {
      client.on('error', () => {}); // the reset's own report
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port: this.target });
    const pair = { client, upstream };
    this.carried.add(pair);
    const end = () => {
      this.carried.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Resets every connection carried, and every new one until {@link goOnline}. */
  goOffline() {
    this.online = false;
    for (const { client, upstream } of this.carried) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.carried.clear();
  }

  goOnline() {
    this.online = true;
  }

  async close() {
    this.goOffline();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * A record of every WebSocket frame a page received, by the browser's own account (the DevTools
 * protocol), whatever the page's script does with it. A frame of a key's history
 * (`{"$ws":"message",...,"data":"..."}`) is recorded as the message it carries (`json`), with
 * its `history` (`{epoch, offset, replayed}`); the history's notices (`{"$ws":"position"}`, ...)
 * have `json` null and their own `notice`.
 */
export class FrameLog extends EventEmitter {
  constructor() {
    super();
    /** `{ url, payload, json, at }` in arrival order; `json` is the parsed payload or null. */
    this.frames = [];
    /** WebSocket URLs the page opened, in order. */
    this.sockets = [];
  }

  attach(page) {
    page.on('websocket', (ws) => {
      this.sockets.push(ws.url());
      this.emit('socket', ws.url());
      ws.on('framereceived', ({ payload }) => {
        const { json, history, notice } = unwrap(parseJson(payload));
        const frame = { url: ws.url(), payload, json, history, notice, at: Date.now() };
        this.frames.push(frame);
        this.emit('frame', frame);
      });
    });
  }

  /** The frames whose parsed JSON satisfies `predicate`, received at or after `since` (ms). */
  where(predicate, { since = 0 } = {}) {
    return this.frames.filter(
      (frame) => frame.at >= since && frame.json !== null && predicate(frame.json),
    );
  }

  /**
   * Resolves with the first frame (already received or to come) that satisfies `predicate`,
   * received at or after `since` (ms since the epoch).
   */
  waitFor(predicate, { timeout = WAIT, what = 'a matching frame', since = 0 } = {}) {
    const found = this.where(predicate, { since });
    if (found.length) return Promise.resolve(found[0]);
    return new Promise((resolve, reject) => {
      const onFrame = (frame) => {
        if (frame.at >= since && frame.json !== null && predicate(frame.json)) {
          clearTimeout(timer);
          this.off('frame', onFrame);
          resolve(frame);
        }
      };
      const timer = setTimeout(() => {
        this.off('frame', onFrame);
        reject(new Error(`no WebSocket frame with ${what} within ${timeout} ms`));
      }, timeout);
      this.on('frame', onFrame);
    });
  }
}

/** `payload` parsed, or null when it is binary or not JSON. */
function parseJson(payload) {
  if (typeof payload !== 'string') return null;
  try {
    return JSON.parse(payload);
  } catch {
    return null;
  }
}

/** A history frame's message and position, or its notice; any other frame as it is. */
function unwrap(json) {
  if (json === null || typeof json !== 'object' || typeof json.$ws !== 'string') {
    return { json, history: null, notice: null };
  }
  if (json.$ws !== 'message') return { json: null, history: null, notice: json };
  const history = { epoch: json.epoch, offset: json.offset, replayed: json.replayed === true };
  return { json: parseJson(json.data), history, notice: null };
}

/**
 * Installed in every page before its own scripts: records each change of `data-status`,
 * `data-state` and `data-attempts` anywhere in the document, with the value it had before,
 * so a test can tell the sequence the page went through, not only where it ended.
 */
function traceAttributes() {
  window.__trace = [];
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      const target = record.target;
      window.__trace.push({
        id: target.id || null,
        attr: record.attributeName,
        old: record.oldValue,
        value: target.getAttribute(record.attributeName),
        at: performance.now(),
      });
    }
  });
  observer.observe(document, {
    subtree: true,
    attributes: true,
    attributeOldValue: true,
    attributeFilter: ['data-status', 'data-state', 'data-attempts'],
  });
}

/**
 * The values that `#id`'s `attr` went through, from the trace: the first record's old value
 * (if any), then every new value. Records carry the value at each mutation, so no change is
 * lost even when several are delivered in one batch.
 */
export async function attributeHistory(page, id, attr) {
  const records = await page.evaluate(
    ([id, attr]) => window.__trace.filter((r) => r.id === id && r.attr === attr),
    [id, attr],
  );
  const values = [];
  for (const [i, record] of records.entries()) {
    if (i === 0 && record.old !== null) values.push(record.old);
    // The old value of record i+1 is the value after record i; use it, it cannot be overwritten.
    const after = i + 1 < records.length ? records[i + 1].old : record.value;
    values.push(after);
  }
  return values;
}

/** A test's resources, all released by `close()`, on success or failure. */
export class Fixture {
  constructor(name) {
    this.name = name;
    this.servers = [];
    this.contexts = [];
    /** `{ label, page, frames, console }` of every page opened. */
    this.pages = [];
    this.profiles = [];
    this.proxies = [];
  }

  /** A {@link NetworkProxy} in front of `server`, closed with the fixture. */
  async proxy(server) {
    const proxy = await NetworkProxy.start(server.port);
    this.proxies.push(proxy);
    return proxy;
  }

  async server(name, options) {
    const server = await ExampleServer.start(name, options);
    this.servers.push(server);
    return server;
  }

  /** Debian's headless Chromium with a fresh, empty profile (`--user-data-dir`). */
  async browser(options = {}) {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wsendpoint-chromium-'));
    this.profiles.push(profile);
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1100, height: 900 },
      ...options,
    });
    this.contexts.push(context);
    context.setDefaultTimeout(WAIT);
    return context;
  }

  /** Opens `url` in a new page of `context`, recording its frames and console from the start. */
  async page(context, url, label = url) {
    const page = await context.newPage();
    const frames = new FrameLog();
    frames.attach(page);
    const consoleLines = [];
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
    await page.addInitScript(traceAttributes);
    const entry = { label, page, frames, console: consoleLines };
    this.pages.push(entry);
    await page.goto(url);
    return entry;
  }

  /** Screenshots every open page to target/screenshots/failures/ and prints what helps. */
  async report(error) {
    const dir = path.join(SCREENSHOTS_DIR, 'failures');
    fs.mkdirSync(dir, { recursive: true });
    const slug = this.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    const lines = [`\n--- ${this.name} failed: ${error?.message ?? error}`];
    for (const [i, entry] of this.pages.entries()) {
      if (entry.page.isClosed()) continue;
      const file = path.join(dir, `${slug}-${i}.png`);
      try {
        await entry.page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
        lines.push(`page ${entry.label}: screenshot ${path.relative(REPO_ROOT, file)}`);
      } catch (screenshotError) {
        lines.push(`page ${entry.label}: no screenshot (${screenshotError.message})`);
      }
      if (entry.console.length) lines.push(`  console:\n    ${entry.console.join('\n    ')}`);
      const received = entry.frames.frames.map((f) => f.payload).slice(-10);
      if (received.length) lines.push(`  last frames:\n    ${received.join('\n    ')}`);
    }
    for (const server of this.servers) {
      const tail = server.output().split('\n').slice(-25).join('\n    ');
      lines.push(`server ${server.name} :${server.port} (${path.relative(REPO_ROOT, server.logPath)}):\n    ${tail}`);
    }
    console.error(lines.join('\n'));
  }

  async close() {
    const errors = [];
    for (const context of this.contexts) {
      await context.close().catch((error) => errors.push(error));
    }
    await Promise.all(this.proxies.map((proxy) => proxy.close().catch((e) => errors.push(e))));
    await Promise.all(this.servers.map((server) => server.stop().catch((e) => errors.push(e))));
    for (const profile of this.profiles) {
      fs.rmSync(profile, { recursive: true, force: true });
    }
    this.contexts = [];
    this.proxies = [];
    this.servers = [];
    this.profiles = [];
    if (errors.length) throw errors[0];
  }
}

/**
 * Runs `body(fixture)` and always releases the fixture; on failure, first saves screenshots of
 * the open pages and prints the servers' output, then rethrows.
 */
export async function withFixture(name, body) {
  const fixture = new Fixture(name);
  try {
    await body(fixture);
  } catch (error) {
    await fixture.report(error).catch(() => {});
    throw error;
  } finally {
    await fixture.close();
  }
}

/** Lower-case hex SHA-256 of `text`, computed in the test, not by the page or the server. */
export function sha256Hex(text) {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** How many `0` hex digits `hash` starts with. */
export function leadingZeros(hash) {
  return /^0*/.exec(hash)[0].length;
}

/** Creates target/screenshots/ and returns the path of `file` in it. */
export function screenshotPath(file) {
  fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  return path.join(SCREENSHOTS_DIR, file);
}
