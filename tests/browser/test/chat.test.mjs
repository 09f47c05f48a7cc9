// The chat example in a real browser: `chat --port P` serves the page at `/`; a deep link
// `/?room=R&nick=N` joins room R as N. Messages go to the pages in the same room only.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { WAIT, screenshotPath, withFixture } from '../lib/harness.mjs';

const TEST_TIMEOUT = 60_000;

/** A CSS attribute selector with `value` quoted (JSON's escapes are CSS's for plain text). */
const attr = (name, value) => `[${name}=${JSON.stringify(value)}]`;

const message = (nick, text) =>
  `#messages li[data-kind="message"]${attr('data-nick', nick)}${attr('data-text', text)}`;

async function waitForStatus(page, status, timeout = WAIT) {
  await page.locator(`#status[data-status="${status}"]`).waitFor({ state: 'attached', timeout });
}

async function online(page) {
  return page.$$eval('#online li[data-nick]', (items) => items.map((li) => li.dataset.nick).sort());
}

/** Resolves once `#online` of `page` lists exactly `nicks`. */
async function waitForOnline(page, nicks) {
  const expected = [...nicks].sort();
  await page.waitForFunction(
    (expected) =>
      JSON.stringify([...document.querySelectorAll('#online li[data-nick]')].map((li) => li.dataset.nick).sort()) ===
      JSON.stringify(expected),
    expected,
    { timeout: WAIT },
  ).catch(async (error) => {
    throw new Error(`#online should be ${expected}, is ${await online(page)}: ${error.message}`);
  });
}

/** Every message text `page` shows, as `nick: text`. */
async function shownMessages(page) {
  return page.$$eval('#messages li[data-kind="message"]', (items) =>
    items.map((li) => `${li.dataset.nick}: ${li.dataset.text}`),
  );
}

test('two pages in one room see each other; a page in another room sees none of it', { timeout: TEST_TIMEOUT }, async () => {
  await withFixture('chat: rooms', async (fx) => {
    const server = await fx.server('chat');
    const browser = await fx.browser();
    const tag = randomBytes(3).toString('hex');
    const room = `lobby-${tag}`;
    const otherRoom = `elsewhere-${tag}`;
    const url = (room, nick) => `${server.url}?${new URLSearchParams({ room, nick })}`;

    const alice = await fx.page(browser, url(room, 'alice'), 'alice');
    await waitForStatus(alice.page, 'open');
    const bob = await fx.page(browser, url(room, 'bob'), 'bob');
    await waitForStatus(bob.page, 'open');
    const carol = await fx.page(browser, url(otherRoom, 'carol'), 'carol');
    await waitForStatus(carol.page, 'open');

    assert.equal(await alice.page.inputValue('#room'), room, 'the deep link filled #room');
    assert.equal(await alice.page.inputValue('#nick'), 'alice', 'the deep link filled #nick');
    await waitForOnline(alice.page, ['alice', 'bob']);
    await waitForOnline(bob.page, ['alice', 'bob']);
    await waitForOnline(carol.page, ['carol']);
    await alice.page
      .locator(`#messages li[data-kind="join"]${attr('data-nick', 'bob')}`)
      .waitFor({ state: 'attached' });

    // alice sends with Enter, bob with the button; each sees the other's message.
    const fromAlice = `hello from alice ${tag}`;
    await alice.page.fill('#message', fromAlice);
    await alice.page.press('#message', 'Enter');
    await bob.page.locator(message('alice', fromAlice)).waitFor({ state: 'attached' });
    await alice.page.locator(message('alice', fromAlice)).waitFor({ state: 'attached' });

    const fromBob = `hi alice, bob here ${tag}`;
    await bob.page.fill('#message', fromBob);
    await bob.page.click('#send');
    await alice.page.locator(message('bob', fromBob)).waitFor({ state: 'attached' });
    await bob.page.locator(message('bob', fromBob)).waitFor({ state: 'attached' });

    // carol's own message is her barrier: the server handles it after alice's and bob's, and
    // whatever it sends her goes through one ordered queue, so once her own message is back,
    // anything of the other room that had been sent to her has arrived too.
    const fromCarol = `anyone? carol ${tag}`;
    await carol.page.fill('#message', fromCarol);
    await carol.page.press('#message', 'Enter');
    await carol.frames.waitFor((m) => JSON.stringify(m).includes(fromCarol), {
      what: "carol's own message, back from the server",
    });
    await carol.page.locator(message('carol', fromCarol)).waitFor({ state: 'attached' });

    assert.deepEqual(await shownMessages(carol.page), [`carol: ${fromCarol}`], 'carol sees only her room');
    assert.equal(await carol.page.locator('#messages li[data-nick="alice"], #messages li[data-nick="bob"]').count(), 0);
    const carolReceived = carol.frames.frames.map((f) => String(f.payload));
    for (const text of [fromAlice, fromBob]) {
      assert.ok(!carolReceived.some((p) => p.includes(text)), `carol's socket never got ${text}`);
    }
    await waitForOnline(carol.page, ['carol']);

    for (const page of [alice.page, bob.page]) {
      assert.deepEqual(
        await shownMessages(page),
        [`alice: ${fromAlice}`, `bob: ${fromBob}`],
        'the room shows its two messages, in order, and not carol\'s',
      );
      assert.equal(await page.locator('#messages li[data-nick="carol"]').count(), 0);
    }
    await waitForOnline(alice.page, ['alice', 'bob']);

    await alice.page.screenshot({ path: screenshotPath('chat.png'), fullPage: true });

    // bob leaves: alice is told, and he is no longer online.
    await bob.page.close();
    await alice.page
      .locator(`#messages li[data-kind="leave"]${attr('data-nick', 'bob')}`)
      .waitFor({ state: 'attached' });
    await waitForOnline(alice.page, ['alice']);
  });
});
