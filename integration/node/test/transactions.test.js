'use strict';
// Pipelines, MULTI/EXEC, WATCH, and a 10,000-command pipeline.
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, Redis } = require('../lib/server');

const ctx = useServer();
let r;
beforeEach(async () => {
  r = r || ctx.client();
  await r.flushall();
});

test('pipeline: results in order, one [err, result] pair per command', async () => {
  const res = await r.pipeline()
    .set('a', '1')
    .incr('a')
    .get('a')
    .mget('a', 'missing')
    .del('a')
    .exists('a')
    .exec();
  assert.deepEqual(res, [
    [null, 'OK'], [null, 2], [null, '2'], [null, ['2', null]], [null, 1], [null, 0],
  ]);
});

test('pipeline: an error in the middle does not stop later commands', async () => {
  await r.set('s', 'not a number');
  const res = await r.pipeline().incr('s').set('after', 'x').get('after').exec();
  assert.ok(res[0][0] instanceof Redis.ReplyError);
  assert.equal(res[0][0].message, 'ERR value is not an integer or out of range');
  assert.equal(res[0][1], undefined);
  assert.deepEqual(res.slice(1), [[null, 'OK'], [null, 'x']]);
});

test('pipeline from an array of commands, with Buffers', async () => {
  const bin = Buffer.from([0x00, 0xff, 0x0a]);
  const res = await r.pipeline([['set', 'bin', bin], ['strlen', 'bin'], ['getBuffer', 'bin']]).exec();
  assert.deepEqual(res, [[null, 'OK'], [null, 3], [null, bin]]);
});

test('large pipeline: 10,000 SETs in one pipeline', async () => {
  const n = 10_000;
  const p = r.pipeline();
  for (let i = 0; i < n; i++) p.set(`bulk:${i}`, `value-${i}`);
  const res = await p.exec();
  assert.equal(res.length, n);
  assert.ok(res.every(([err, v]) => err === null && v === 'OK'));
  assert.equal(await r.dbsize(), n);
  assert.deepEqual(await r.mget('bulk:0', 'bulk:4999', 'bulk:9999'),
    ['value-0', 'value-4999', 'value-9999']);
  // and read them all back in one pipeline
  const g = r.pipeline();
  for (let i = 0; i < n; i++) g.get(`bulk:${i}`);
  const got = await g.exec();
  assert.ok(got.every(([err, v], i) => err === null && v === `value-${i}`));
});

test('MULTI/EXEC: results of every queued command', async () => {
  const res = await r.multi().set('k', '1').incr('k').incrby('k', 5).get('k').exec();
  assert.deepEqual(res, [[null, 'OK'], [null, 2], [null, 7], [null, '7']]);
  assert.equal(await r.get('k'), '7');
});

test('MULTI/EXEC: a runtime error affects only its own command', async () => {
  await r.set('s', 'abc');
  const res = await r.multi().incr('s').set('t', 'ok').exec();
  assert.ok(res[0][0] instanceof Redis.ReplyError);
  assert.equal(res[0][0].message, 'ERR value is not an integer or out of range');
  assert.deepEqual(res[1], [null, 'OK']);
  assert.equal(await r.get('t'), 'ok');
});

test('MULTI/EXEC: a queueing error aborts with EXECABORT', async () => {
  await assert.rejects(
    r.multi().set('x', '1').call('GET').exec(), // GET without a key: arity error while queueing
    (err) => {
      assert.ok(err instanceof Redis.ReplyError);
      assert.equal(err.message, 'EXECABORT Transaction discarded because of previous errors.');
      assert.equal(err.previousErrors[0].message, "ERR wrong number of arguments for 'get' command");
      return true;
    });
  assert.equal(await r.exists('x'), 0);
  assert.equal(await r.ping(), 'PONG');
});

test('MULTI/DISCARD', async () => {
  assert.equal(await r.multi({ pipeline: false }), 'OK');
  assert.equal(await r.set('d', '1'), 'QUEUED');
  assert.equal(await r.discard(), 'OK');
  assert.equal(await r.exists('d'), 0);
  assert.equal(await r.ping(), 'PONG');
});

test('multi({ pipeline: false }): commands answer QUEUED', async () => {
  assert.equal(await r.multi({ pipeline: false }), 'OK');
  assert.equal(await r.set('q', '1'), 'QUEUED');
  assert.equal(await r.incr('q'), 'QUEUED');
  assert.deepEqual(await r.exec(), [[null, 'OK'], [null, 2]]);
});

test('WATCH: EXEC resolves to null when another client writes the key', async () => {
  const other = ctx.client();
  await r.set('w', '1');
  assert.equal(await r.watch('w'), 'OK');
  const v = await r.get('w');
  assert.equal(await other.set('w', 'changed'), 'OK');
  const res = await r.multi().set('w', String(Number(v) + 1)).exec();
  assert.equal(res, null);
  assert.equal(await r.get('w'), 'changed');
});

test('WATCH: EXEC runs when nobody touched the key', async () => {
  await r.set('w', '1');
  assert.equal(await r.watch('w'), 'OK');
  const v = await r.get('w');
  const res = await r.multi().set('w', String(Number(v) + 1)).exec();
  assert.deepEqual(res, [[null, 'OK']]);
  assert.equal(await r.get('w'), '2');
});

test('WATCH: a key created or deleted by another client aborts EXEC', async () => {
  const other = ctx.client();
  assert.equal(await r.watch('absent'), 'OK');
  await other.set('absent', 'now here');
  assert.equal(await r.multi().set('absent', 'mine').exec(), null);

  await r.set('del', 'v');
  await r.watch('del');
  await other.del('del');
  assert.equal(await r.multi().set('x', '1').exec(), null);
  assert.equal(await r.exists('x'), 0);
});

test('WATCH then UNWATCH: later writes by others do not abort', async () => {
  const other = ctx.client();
  await r.set('u', '1');
  await r.watch('u');
  assert.equal(await r.unwatch(), 'OK');
  await other.set('u', '2');
  assert.deepEqual(await r.multi().get('u').exec(), [[null, '2']]);
});

test('check-and-set retry loop with two competing clients', async () => {
  const a = ctx.client();
  const b = ctx.client();
  await r.set('counter', '0');
  async function casIncr(c) {
    for (let attempt = 0; attempt < 100; attempt++) {
      await c.watch('counter');
      const v = Number(await c.get('counter'));
      const res = await c.multi().set('counter', String(v + 1)).exec();
      if (res !== null) return attempt;
    }
    throw new Error('CAS never succeeded');
  }
  // each client runs its transactions one after another (WATCH is per
  // connection); the two clients race each other
  async function worker(c) {
    let retries = 0;
    for (let i = 0; i < 20; i++) retries += await casIncr(c);
    return retries;
  }
  await Promise.all([worker(a), worker(b)]);
  assert.equal(await r.get('counter'), '40');
});
