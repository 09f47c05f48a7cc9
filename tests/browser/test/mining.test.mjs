// The mining demo in a real browser: `mining --port P` serves the page at `/`; the page connects
// to /websocket/<key> and `#mine` POSTs /mine/<key>?difficulty=N, whose progress and result the
// server pushes to every session under that key.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  REPO_ROOT,
  WAIT,
  attributeHistory,
  leadingZeros,
  screenshotPath,
  sha256Hex,
  withFixture,
} from '../lib/harness.mjs';

const TEST_TIMEOUT = 60_000;
/** A job at difficulty 4 takes ~65 000 hashes on average: a fraction of a second in a debug build. */
const LOW_DIFFICULTY = 4;

const isProgress = (message) => message.code === '01';
const isResult = (message) => message.code === '00';

function uniqueKey(prefix) {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

function pageUrl(server, query) {
  return `${server.url}?${new URLSearchParams(query)}`;
}

async function waitForStatus(page, status, timeout = WAIT) {
  await page.locator(`#status[data-status="${status}"]`).waitFor({ state: 'attached', timeout });
}

async function waitForJob(page, state, timeout = WAIT) {
  await page.locator(`#job[data-state="${state}"]`).waitFor({ state: 'attached', timeout });
}

/**
 * Reads the block the page shows and checks it in the test: SHA-256 of `#header` recomputed here
 * equals `#hash`, which starts with at least `difficulty` zeros, wrapped in `span.zeros`; the
 * header ends with `#nonce`; all of it is what the server pushed in `result`.
 */
async function checkShownBlock(page, difficulty, result) {
  await page.locator('#result').waitFor({ state: 'visible' });
  const shown = await page.evaluate(() => ({
    hash: document.querySelector('#hash').textContent.trim(),
    header: document.querySelector('#header').textContent.trim(),
    nonce: document.querySelector('#nonce').textContent.trim(),
    zeros: [...document.querySelectorAll('#hash .zeros')].map((span) => span.textContent).join(''),
    attempts: document.querySelector('#attempts').getAttribute('data-attempts'),
  }));
  assert.match(shown.hash, /^[0-9a-f]{64}$/, `#hash is a full SHA-256 in hex: ${shown.hash}`);
  assert.equal(sha256Hex(shown.header), shown.hash, 'sha256(#header) must equal #hash');
  const zeros = leadingZeros(shown.hash);
  assert.ok(
    zeros >= difficulty,
    `#hash ${shown.hash} must start with at least ${difficulty} zeros, has ${zeros}`,
  );
  assert.equal(shown.zeros, '0'.repeat(zeros), 'the leading zeros, all of them, are in span.zeros');
  assert.ok(
    shown.header.endsWith(`nonce=${shown.nonce}`),
    `#header ${shown.header} ends with the nonce ${shown.nonce}`,
  );
  if (result) {
    assert.equal(shown.hash, result.data.hash, '#hash is the pushed hash');
    assert.equal(shown.header, result.data.header, '#header is the pushed header');
    assert.equal(shown.nonce, String(result.data.nonce), '#nonce is the pushed nonce');
    assert.equal(shown.attempts, String(result.data.attempts), 'data-attempts is the final count');
  }
  return shown;
}

/** The numbers `#attempts[data-attempts]` showed, in order; checks they never went down. */
async function attemptsShown(page) {
  const values = (await attributeHistory(page, 'attempts', 'data-attempts'))
    .filter((value) => value !== null && value !== '')
    .map(Number);
  for (const [i, value] of values.entries()) {
    assert.ok(Number.isSafeInteger(value) && value >= 0, `data-attempts is an integer: ${value}`);
    if (i > 0) assert.ok(value >= values[i - 1], `the counter never goes down: ${values}`);
  }
  return values;
}

/**
 * Progress streams while a job runs: the server pushes it at most every 100 ms, so a job whose
 * first progress and result are more than 350 ms apart must have pushed a count between 0 and
 * the final one (a quicker job may legitimately push only its first progress, 0).
 */
function checkStreamed(frames, { since = 0 } = {}) {
  const progress = frames.where(isProgress, { since });
  const [result] = frames.where(isResult, { since });
  assert.ok(progress.length >= 1, 'at least one progress message was pushed');
  assert.ok(progress.every((f) => f.at <= result.at), 'the result is the last message of a job');
  const counts = progress.map((f) => f.json.data);
  assert.deepEqual(counts, [...counts].sort((x, y) => x - y), `progress only rises: ${counts}`);
  if (result.at - progress[0].at > 350) {
    const between = counts.filter((n) => n > 0 && n < result.json.data.attempts);
    assert.ok(between.length >= 1, `a ${result.at - progress[0].at} ms job streamed counts: ${counts}`);
  }
  return counts;
}

test('mines a block at a low difficulty: the counter rises, the hash has its zeros', { timeout: TEST_TIMEOUT }, async () => {
  await withFixture('mining: a job', async (fx) => {
    const server = await fx.server('mining');
    const browser = await fx.browser();
    const key = uniqueKey('miner');
    const { page, frames } = await fx.page(browser, pageUrl(server, { key }), 'miner');

    await waitForStatus(page, 'open');
    assert.equal(await page.inputValue('#key'), key, '#key shows the key in use');
    assert.ok(frames.sockets.some((url) => url.endsWith(`/websocket/${key}`)), `socket: ${frames.sockets}`);
    await waitForJob(page, 'idle');
    assert.ok(await page.locator('#result').isHidden(), '#result is hidden before a block arrives');

    await page.selectOption('#difficulty', String(LOW_DIFFICULTY));
    await page.click('#mine');
    const result = await frames.waitFor(isResult, { what: 'the result (code 00)' });
    await waitForJob(page, 'done');

    // The counter rose: the page showed the progress (from 0) and then the final count.
    const progress = frames.where(isProgress);
    checkStreamed(frames);
    const shownCounts = await attemptsShown(page);
    assert.ok(shownCounts.length >= 2, `the counter showed several values: ${shownCounts}`);
    assert.equal(shownCounts.at(-1), result.json.data.attempts, 'it ends at the final count');
    assert.ok(shownCounts.at(-1) > shownCounts[0], `the counter rose: ${shownCounts}`);
    for (const { json } of progress) {
      assert.ok(shownCounts.includes(json.data), `progress ${json.data} was shown: ${shownCounts}`);
    }
    const states = await attributeHistory(page, 'job', 'data-state');
    assert.ok(
      states.indexOf('running') !== -1 && states.indexOf('running') < states.lastIndexOf('done'),
      `#job went through running to done: ${states}`,
    );
    assert.equal(await page.locator('#rate').count(), 1, 'the page has its #rate');

    await checkShownBlock(page, LOW_DIFFICULTY, result.json);

    // Screenshots a developer can look at: the desktop page and a phone-sized one.
    const desktop = screenshotPath('mining.png');
    await page.screenshot({ path: desktop, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: screenshotPath('mining-phone.png'), fullPage: true });
    if (process.env.WSENDPOINT_UPDATE_DOCS_SCREENSHOT) {
      // Opt in, so that running the tests does not change a committed file each time.
      fs.mkdirSync(path.join(REPO_ROOT, 'docs'), { recursive: true });
      fs.copyFileSync(desktop, path.join(REPO_ROOT, 'docs', 'screenshot-mining.png'));
    }
  });
});

test('a deep link picks the key and the difficulty; #apply-key moves the page to another key', { timeout: TEST_TIMEOUT }, async () => {
  await withFixture('mining: deep link and apply-key', async (fx) => {
    const server = await fx.server('mining');
    const browser = await fx.browser();
    const first = uniqueKey('first');
    const second = uniqueKey('second');
    const { page, frames } = await fx.page(browser, pageUrl(server, { key: first, difficulty: 2 }));
    await waitForStatus(page, 'open');
    assert.equal(await page.inputValue('#key'), first);
    assert.equal(await page.inputValue('#difficulty'), '2', 'the deep link set the difficulty');

    await page.fill('#key', second);
    await page.click('#apply-key');
    await frames.waitFor((m) => m.type === 'hello' && m.key === second, {
      what: `the hello of a session under ${second}`,
    });
    await waitForStatus(page, 'open');
    assert.equal(await page.inputValue('#key'), second);
    assert.ok(frames.sockets.at(-1).endsWith(`/websocket/${second}`), `socket: ${frames.sockets}`);

    // A job started for the new key from outside the page reaches it.
    const response = await fetch(`${server.url}mine/${second}?difficulty=2`, { method: 'POST' });
    assert.equal(response.status, 202, await response.text());
    const result = await frames.waitFor(isResult, { what: 'the result for the new key' });
    await waitForJob(page, 'done');
    await checkShownBlock(page, 2, result.json);
    assert.ok(result.json.data.header.includes(`key=${second};`), result.json.data.header);
  });
});

test('after the server restarts on the same port the page reconnects by itself and gets a new job', { timeout: 90_000 }, async () => {
  await withFixture('mining: restart', async (fx) => {
    let server = await fx.server('mining');
    const { port } = server;
    const browser = await fx.browser();
    const key = uniqueKey('restart');
    const { page, frames } = await fx.page(browser, pageUrl(server, { key, difficulty: 3 }));
    await waitForStatus(page, 'open');
    // Set in this document: a reload or navigation would lose it.
    await page.evaluate(() => {
      window.__sameDocument = true;
    });

    // Ctrl-C first (the server closes every session with 1001), then a plain SIGTERM (no
    // handler: the process dies and the connection just drops).
    for (const signal of ['SIGINT', 'SIGTERM']) {
      const socketsBefore = frames.sockets.length;
      await server.stop({ signal });
      await waitForStatus(page, 'reconnecting');
      assert.match(await page.textContent('#status'), /reconnecting/i, 'the page says so');

      server = await fx.server('mining', { port });
      await waitForStatus(page, 'open', 30_000);
      assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
      assert.ok(frames.sockets.length > socketsBefore, 'the page opened a new WebSocket');

      const since = Date.now();
      await page.click('#mine');
      const result = await frames.waitFor(isResult, {
        since,
        what: `the result of the job after the ${signal} restart`,
      });
      assert.ok(result.json.data.header.includes(`key=${key};`), result.json.data.header);
      checkStreamed(frames, { since }); // the new job streamed its progress to the page
      await waitForJob(page, 'done');
      await checkShownBlock(page, 3, result.json);
    }
    const statuses = await attributeHistory(page, 'status', 'data-status');
    assert.ok(
      statuses.filter((s) => s === 'reconnecting').length >= 2 && statuses.at(-1) === 'open',
      `#status went open -> reconnecting -> open twice: ${statuses}`,
    );
  });
});

/**
 * How long a job one step above LOW_DIFFICULTY may take: ~1M hashes on average, but the number
 * of attempts is geometric, so 20 s (~3M hashes in a debug build on a busy machine) missed about
 * one run in fifteen; 60 s misses about one in three thousand.
 */
const HIGHER_JOB_WAIT = 60_000;

test('two pages on one key both get the progress; a page on another key gets none', { timeout: TEST_TIMEOUT + HIGHER_JOB_WAIT }, async () => {
  await withFixture('mining: keys', async (fx) => {
    const server = await fx.server('mining');
    const browser = await fx.browser();
    const shared = uniqueKey('shared');
    const other = uniqueKey('other');
    // One step up, so that the job usually lasts long enough to stream several counts.
    const difficulty = LOW_DIFFICULTY + 1;
    const a = await fx.page(browser, pageUrl(server, { key: shared, difficulty }), 'shared A');
    const b = await fx.page(browser, pageUrl(server, { key: shared, difficulty }), 'shared B');
    const c = await fx.page(browser, pageUrl(server, { key: other, difficulty: LOW_DIFFICULTY }), 'other C');
    for (const { page } of [a, b, c]) await waitForStatus(page, 'open');
    await a.page.bringToFront();

    await a.page.click('#mine');
    const [resultA, resultB] = await Promise.all([
      a.frames.waitFor(isResult, { what: 'the result on page A', timeout: HIGHER_JOB_WAIT }),
      b.frames.waitFor(isResult, {
        what: 'the result on page B (which did not click)',
        timeout: HIGHER_JOB_WAIT,
      }),
    ]);
    await Promise.all([waitForJob(a.page, 'done'), waitForJob(b.page, 'done')]);

    // Both got the same progress and the same block, and show it.
    assert.deepEqual(resultB.json, resultA.json, 'both pages got the same block');
    const progressA = a.frames.where(isProgress).map((f) => f.json.data);
    const progressB = b.frames.where(isProgress).map((f) => f.json.data);
    assert.ok(progressB.length >= 1, 'page B got progress');
    checkStreamed(a.frames);
    checkStreamed(b.frames);
    // Progress is a latest-value send: a page whose queue backs up gets fewer, newer counts, so
    // the two pages need not get the same counts; but the newest always goes out, so both get
    // the job's last one.
    assert.equal(progressB.at(-1), progressA.at(-1), 'both pages ended on the same count');
    const shownA = await checkShownBlock(a.page, difficulty, resultA.json);
    const shownB = await checkShownBlock(b.page, difficulty, resultB.json);
    assert.equal(shownB.hash, shownA.hash);
    const statesB = await attributeHistory(b.page, 'job', 'data-state');
    assert.ok(statesB.includes('running'), `page B showed the job running: ${statesB}`);

    // The other key's page: nothing, by the DOM and by what its socket received.
    assert.equal(await c.page.getAttribute('#job', 'data-state'), 'idle');
    const attemptsC = await c.page.getAttribute('#attempts', 'data-attempts');
    assert.ok(attemptsC === null || attemptsC === '' || attemptsC === '0', `C's attempts: ${attemptsC}`);
    assert.ok(await c.page.locator('#result').isHidden(), "C's #result stays hidden");
    assert.deepEqual(c.frames.where((m) => 'code' in m), [], 'C received no job message');

    // And a barrier: C's own job. Pushes to C go through one ordered queue, so anything of the
    // shared key's job that had gone to C would have arrived before this job's first message.
    const since = Date.now();
    await c.page.click('#mine');
    const resultC = await c.frames.waitFor(isResult, { what: "the result of C's own job" });
    await waitForJob(c.page, 'done');
    const jobMessagesC = c.frames.frames.filter((f) => f.json && 'code' in f.json);
    assert.ok(jobMessagesC.every((f) => f.at >= since), 'C got job messages only after its own click');
    assert.equal(jobMessagesC.filter((f) => isResult(f.json)).length, 1, 'C got exactly one result');
    assert.ok(resultC.json.data.header.includes(`key=${other};`), resultC.json.data.header);
    await checkShownBlock(c.page, LOW_DIFFICULTY, resultC.json);
    assert.equal(a.frames.where(isResult).length, 1, "A did not get C's result");
    assert.equal(b.frames.where(isResult).length, 1, "B did not get C's result");
  });
});

/**
 * A page that goes offline mid-job, for longer than the job lasts, gets the block when it comes
 * back: the block is in its key's history and the page reconnects with its last position. The
 * page reaches the server through a proxy the test cuts; a second page on the same key, direct,
 * says when the job ended.
 */
test('a page offline when its job ends shows the block when it comes back, no count out of order', { timeout: TEST_TIMEOUT + 3 * HIGHER_JOB_WAIT }, async () => {
  await withFixture('mining: offline', async (fx) => {
    const server = await fx.server('mining');
    const proxy = await fx.proxy(server);
    const browser = await fx.browser();
    const key = uniqueKey('offline');
    const difficulty = LOW_DIFFICULTY + 1;
    const away = await fx.page(browser, pageUrl(proxy, { key, difficulty }), 'through the proxy');
    const watcher = await fx.page(browser, pageUrl(server, { key, difficulty }), 'direct');
    for (const { page } of [away, watcher]) await waitForStatus(page, 'open');

    // A job may end before the cut (it is random): then the page saw it all, and it takes
    // another one. Three tries at ~1M hashes each make that vanishingly rare.
    let cut = null;
    let block = null;
    for (let tries = 0; tries < 3 && cut === null; tries += 1) {
      await waitForStatus(away.page, 'open', 30_000);
      const since = Date.now();
      await away.page.click('#mine');
      await away.frames.waitFor(isProgress, { since, what: 'the first progress' });
      proxy.goOffline();
      const cutAt = Date.now();
      block = await watcher.frames.waitFor(isResult, {
        since,
        what: 'the result on the direct page',
        timeout: HIGHER_JOB_WAIT,
      });
      if (block.at > cutAt) cut = cutAt;
      proxy.goOnline();
    }
    assert.ok(cut !== null, 'a job outlasted the cut');
    assert.ok(
      away.frames.where(isResult, { since: cut }).length === 0,
      'offline, the page got nothing',
    );

    await waitForStatus(away.page, 'open', 30_000);
    const replayed = await away.frames.waitFor(isResult, { since: cut, what: 'the replayed block' });
    assert.equal(replayed.history?.replayed, true, 'it came as a replay');
    assert.deepEqual(replayed.json, block.json, 'the block the job mined');
    await waitForJob(away.page, 'done');
    await checkShownBlock(away.page, difficulty, block.json);
    await attemptsShown(away.page); // never went down, replay included
    const results = away.frames.where((m) => isResult(m) && m.data.hash === block.json.data.hash);
    assert.equal(results.length, 1, 'the block came once');
    const notices = away.frames.frames.filter((f) => f.notice?.$ws === 'gap');
    assert.deepEqual(notices, [], 'nothing was missed for good');
  });
});
