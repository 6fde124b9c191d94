'use strict';
// Pub/sub with ioredis 5 (RESP2): subscriber mode, message / pmessage /
// smessage events (and their Buffer forms), subscribe/unsubscribe counts,
// PING in subscriber mode, leaving subscriber mode, PUBSUB introspection,
// a subscriber killed with CLIENT KILL. Expectations checked against
// redis-server 7.0.15 (see PUBSUB_FACTS.md). Every wait is bounded.
//
// ioredis note: `unsubscribe()` / `punsubscribe()` without arguments only
// resolve once the count in the server's last reply reaches 0 (channels +
// patterns share that count), so an argument-less form is only used for the
// last kind left; a wrong count would hang or resolve early. ioredis itself
// refuses non-subscriber commands in subscriber mode (client side).
const { test, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, sleep } = require('../lib/server');

const ctx = useServer();
const WAIT_MS = 5000;
const T = { timeout: 10_000 }; // per test
let r;

// Subscribers of one test are closed after it, so the next starts clean.
let perTest = [];
function client(extra) {
  const c = ctx.client(extra);
  perTest.push(c);
  return c;
}
afterEach(() => {
  for (const c of perTest) if (c.status !== 'end') c.disconnect();
  perTest = [];
});

beforeEach(async () => {
  r = r || ctx.client();
  await r.flushall();
  await waitUntil(async () => (await r.pubsub('CHANNELS')).length === 0
    && (await r.pubsub('NUMPAT')) === 0
    && (await r.pubsub('SHARDCHANNELS')).length === 0, 'no subscriptions left');
});

/** Resolve with the args of the next `n` `event`s, or reject after ms. */
function nextEvents(emitter, event, n = 1, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => {
      emitter.removeListener(event, on);
      reject(new Error(`only ${got.length}/${n} '${event}' events within ${ms} ms`));
    }, ms);
    function on(...args) {
      got.push(args);
      if (got.length === n) {
        clearTimeout(timer);
        emitter.removeListener(event, on);
        resolve(got);
      }
    }
    emitter.on(event, on);
  });
}

/** Await `promise`, failing after ms (the timer is cleared either way). */
async function within(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitUntil(pred, what, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await sleep(10);
  }
  throw new Error(`${what}: not reached within ${ms} ms`);
}

test('subscribe: counts, message events in publish order, PUBLISH counts', T, async () => {
  const s = client();
  assert.equal(await s.subscribe('a', 'b'), 2);
  assert.equal(await s.subscribe('a'), 2); // duplicate: count unchanged
  const events = nextEvents(s, 'message', 3);
  assert.equal(await r.publish('a', 'one'), 1);
  assert.equal(await r.publish('b', ''), 1);
  assert.equal(await r.publish('nobody', 'x'), 0);
  assert.equal(await r.publish('a', 'two'), 1);
  assert.deepEqual(await events, [['a', 'one'], ['b', ''], ['a', 'two']]);
});

test('1,000 messages arrive in order', T, async () => {
  const s = client();
  await s.subscribe('seq');
  const events = nextEvents(s, 'message', 1000);
  const p = r.pipeline();
  for (let i = 0; i < 1000; i++) p.publish('seq', String(i));
  const res = await p.exec();
  assert.ok(res.every(([err, n]) => err === null && n === 1));
  assert.deepEqual((await events).map(([, m]) => m), Array.from({ length: 1000 }, (_, i) => String(i)));
});

test('psubscribe: pmessage events; channel + pattern subscribers counted per match', T, async () => {
  const s = client();
  const t = client();
  assert.equal(await s.subscribe('ch'), 1);
  assert.equal(await s.psubscribe('c*', '*h'), 3); // channels + patterns share the count
  assert.equal(await t.psubscribe('c*'), 1);
  const msgs = nextEvents(s, 'message', 1);
  const pm = nextEvents(s, 'pmessage', 2);
  const tm = nextEvents(t, 'pmessage', 1);
  assert.equal(await r.publish('ch', 'x'), 4);
  assert.deepEqual(await msgs, [['ch', 'x']]);
  assert.deepEqual((await pm).map(([pat, c, m]) => [pat, c, m]).sort(), [['*h', 'ch', 'x'], ['c*', 'ch', 'x']]);
  assert.deepEqual(await tm, [['c*', 'ch', 'x']]);
  assert.equal(await r.pubsub('NUMPAT'), 2); // distinct patterns
  assert.deepEqual(await r.pubsub('NUMSUB', 'ch', 'zz'), ['ch', 1, 'zz', 0]);
});

test('binary channels and payloads: messageBuffer / pmessageBuffer', T, async () => {
  const s = client();
  const chan = Buffer.from([0x62, 0x00, 0xff, 0x0d, 0x0a]);
  const payload = Buffer.from([0x00, 0x01, 0xfe, 0xff]);
  assert.equal(await s.subscribe(chan), 1);
  assert.equal(await s.psubscribe(Buffer.from([0x62, 0x00, 0x2a])), 2); // "b\0*"
  const mb = nextEvents(s, 'messageBuffer', 1);
  const pb = nextEvents(s, 'pmessageBuffer', 1);
  assert.equal(await r.publish(chan, payload), 2);
  const [[c, m]] = await mb;
  assert.ok(c.equals(chan) && m.equals(payload));
  const [[pat, c2, m2]] = await pb; // ioredis hands the pattern over as a string
  assert.equal(pat, Buffer.from([0x62, 0x00, 0x2a]).toString());
  assert.ok(c2.equals(chan) && m2.equals(payload));
});

test('sharded pub/sub: ssubscribe, spublish, smessage; separate from plain channels', T, async () => {
  const s = client();
  assert.equal(await s.ssubscribe('s1', 's2'), 2);
  assert.equal(await s.subscribe('s1'), 1); // the plain count does not include shard channels
  const sm = nextEvents(s, 'smessage', 1);
  const m = nextEvents(s, 'message', 1);
  assert.equal(await r.spublish('s1', 'shard'), 1);
  assert.equal(await r.publish('s1', 'plain'), 1);
  assert.deepEqual(await sm, [['s1', 'shard']]);
  assert.deepEqual(await m, [['s1', 'plain']]);
  assert.deepEqual((await r.pubsub('SHARDCHANNELS')).sort(), ['s1', 's2']);
  assert.deepEqual(await r.pubsub('SHARDNUMSUB', 's1', 'zz'), ['s1', 1, 'zz', 0]);
  assert.deepEqual(await r.pubsub('CHANNELS'), ['s1']);
  assert.equal(await s.sunsubscribe('s1'), 1);
  assert.equal(await r.spublish('s1', 'gone'), 0);
  assert.equal(await s.unsubscribe('s1'), 0);
  assert.equal(await s.sunsubscribe(), 0);
  assert.deepEqual(await r.pubsub('SHARDCHANNELS'), []);
});

test('PING in subscriber mode answers the RESP2 [pong, arg] array', T, async () => {
  const s = client();
  await s.subscribe('p');
  assert.deepEqual(await s.ping(), ['pong', '']);
  assert.deepEqual(await s.ping('hi'), ['pong', 'hi']);
  const m = nextEvents(s, 'message', 1);
  assert.equal(await r.publish('p', 'still'), 1);
  assert.deepEqual(await m, [['p', 'still']]);
});

test('unsubscribe flows, then the connection leaves subscriber mode', T, async () => {
  const s = client();
  assert.equal(await s.subscribe('a', 'b', 'c'), 3);
  assert.equal(await s.psubscribe('p*'), 4);
  assert.equal(await s.unsubscribe('b'), 3);
  assert.equal(await s.unsubscribe('never'), 3);
  assert.equal(await r.publish('b', 'x'), 0);
  assert.equal(await s.punsubscribe('p*'), 2);    // pattern gone first (see note above)
  assert.equal(await s.unsubscribe(), 0);         // a and c; resolves when the count reaches 0
  assert.deepEqual(await r.pubsub('CHANNELS'), []);
  assert.equal(await r.pubsub('NUMPAT'), 0);
  // no longer a subscriber: ordinary commands work again
  assert.equal(await s.set('k', 'v'), 'OK');
  assert.equal(await s.get('k'), 'v');
  assert.equal(await s.ping(), 'PONG');
});

test('PUBSUB CHANNELS / NUMSUB / NUMPAT introspection', T, async () => {
  assert.deepEqual(await r.pubsub('CHANNELS'), []);
  assert.deepEqual(await r.pubsub('NUMSUB'), []);
  assert.equal(await r.pubsub('NUMPAT'), 0);
  const s1 = client();
  const s2 = client();
  await s1.subscribe('news.1', 'news.2', 'other');
  await s2.subscribe('news.1');
  await s2.psubscribe('news.*');
  assert.deepEqual((await r.pubsub('CHANNELS')).sort(), ['news.1', 'news.2', 'other']);
  assert.deepEqual((await r.pubsub('CHANNELS', 'news.*')).sort(), ['news.1', 'news.2']);
  assert.deepEqual(await r.pubsub('NUMSUB', 'news.1', 'news.2', 'none'), ['news.1', 2, 'news.2', 1, 'none', 0]);
  assert.equal(await r.pubsub('NUMPAT'), 1);
  assert.equal(await r.publish('news.1', 'x'), 3);
  await assert.rejects(r.pubsub('NOSUCH'), { message: "ERR unknown subcommand 'NOSUCH'. Try PUBSUB HELP." });
  await assert.rejects(r.pubsub('NUMPAT', 'x'), { message: "ERR wrong number of arguments for 'pubsub|numpat' command" });
});

test('a subscriber killed with CLIENT KILL ends and leaves no subscription', T, async () => {
  const s = client();
  await s.subscribe('kk');
  await s.psubscribe('kk*');
  const subs = (await r.client('LIST')).split('\n').filter((l) => / flags=P /.test(l));
  assert.equal(subs.length, 1);
  assert.match(subs[0], / sub=1 psub=1 ssub=0 /);
  const ended = new Promise((resolve) => s.once('end', resolve));
  assert.equal(await r.client('KILL', 'TYPE', 'pubsub'), 1);
  await within(ended, 'subscriber "end" event');
  await waitUntil(async () => (await r.pubsub('NUMPAT')) === 0, 'NUMPAT 0');
  assert.deepEqual(await r.pubsub('NUMSUB', 'kk'), ['kk', 0]);
  assert.equal((await r.client('LIST')).split('\n').filter((l) => / flags=P /.test(l)).length, 0);
});
