'use strict';
// vaylix-only extension, reached through redis.call(...):
//   VERSION key                 -> integer version, null when the key is absent
//   SET key value IF VERSION n  -> 'OK' when the current version is n, null otherwise
//                                  (IF VERSION 0 matches only an absent key)
// Skipped when the server under test is Redis.
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, vaylixOnly } = require('../lib/server');

const ctx = useServer();
let r;
beforeEach(async () => {
  if (!ctx.isVaylix) return;
  r = r || ctx.client();
  await r.flushall();
});

const version = (c, key) => c.call('VERSION', key);
const setIfVersion = (c, key, value, n) => c.call('SET', key, value, 'IF', 'VERSION', n);

test('VERSION of an absent key is null', vaylixOnly, async () => {
  assert.equal(await version(r, 'missing'), null);
});

test('VERSION is a positive integer that grows on every write', vaylixOnly, async () => {
  await r.set('k', 'v');
  const v1 = await version(r, 'k');
  assert.equal(typeof v1, 'number');
  assert.ok(Number.isInteger(v1) && v1 > 0);
  await r.set('k', 'v'); // same value is still a write
  const v2 = await version(r, 'k');
  assert.ok(v2 > v1);
  await r.append('k', 'x');
  const v3 = await version(r, 'k');
  assert.ok(v3 > v2);
  await r.get('k'); // reads do not bump it
  assert.equal(await version(r, 'k'), v3);
});

test('SET IF VERSION: compare-and-set', vaylixOnly, async () => {
  assert.equal(await setIfVersion(r, 'k', 'first', 0), 'OK'); // 0 = must be absent
  assert.equal(await setIfVersion(r, 'k', 'again', 0), null);
  const v = await version(r, 'k');
  assert.equal(await setIfVersion(r, 'k', 'second', v), 'OK');
  assert.equal(await r.get('k'), 'second');
  assert.equal(await setIfVersion(r, 'k', 'stale', v), null); // v is now old
  assert.equal(await r.get('k'), 'second');
  assert.ok((await version(r, 'k')) > v);
});

test('SET IF VERSION loses to a write by another client', vaylixOnly, async () => {
  const other = ctx.client();
  await r.set('k', '1');
  const v = await version(r, 'k');
  await other.set('k', 'theirs');
  assert.equal(await setIfVersion(r, 'k', 'mine', v), null);
  assert.equal(await r.get('k'), 'theirs');
});

test('VERSION after DEL and re-create never repeats', vaylixOnly, async () => {
  await r.set('k', 'v');
  const before = await version(r, 'k');
  await r.del('k');
  assert.equal(await version(r, 'k'), null);
  await r.set('k', 'v');
  assert.ok((await version(r, 'k')) > before);
});

test('VERSION and SET IF VERSION in a pipeline and in MULTI/EXEC', vaylixOnly, async () => {
  await r.set('k', 'v');
  const v = await version(r, 'k');
  const res = await r.pipeline()
    .call('VERSION', 'k')
    .call('SET', 'k', 'p', 'IF', 'VERSION', v)
    .call('SET', 'k', 'q', 'IF', 'VERSION', v)
    .exec();
  assert.deepEqual(res, [[null, v], [null, 'OK'], [null, null]]);
  const v2 = await version(r, 'k');
  const tx = await r.multi()
    .call('SET', 'k', 'm', 'IF', 'VERSION', v2)
    .call('VERSION', 'k')
    .exec();
  assert.equal(tx[0][1], 'OK');
  assert.ok(tx[1][1] > v2);
  assert.equal(await r.get('k'), 'm');
});

test('VERSION errors', vaylixOnly, async () => {
  await assert.rejects(r.call('VERSION'), { name: 'ReplyError',
    message: "ERR wrong number of arguments for 'version' command" });
  await assert.rejects(setIfVersion(r, 'k', 'v', 'abc'), { name: 'ReplyError' });
});
