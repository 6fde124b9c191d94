'use strict';
// Keyspace: DEL, EXISTS, TYPE, RENAME, EXPIRE/TTL/PERSIST, SCAN via scanStream.
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, sleep } = require('../lib/server');

const ctx = useServer();
let r;
beforeEach(async () => {
  r = r || ctx.client();
  await r.flushall();
});

function collect(stream) {
  return new Promise((resolve, reject) => {
    const keys = [];
    let batches = 0;
    stream.on('data', (batch) => { batches++; keys.push(...batch); });
    stream.on('end', () => resolve({ keys, batches }));
    stream.on('error', reject);
  });
}

test('DEL / EXISTS / UNLINK', async () => {
  await r.mset('a', '1', 'b', '2', 'c', '3');
  assert.equal(await r.exists('a'), 1);
  assert.equal(await r.exists('a', 'b', 'missing', 'a'), 3); // duplicates counted
  assert.equal(await r.del('a', 'missing'), 1);
  assert.equal(await r.exists('a'), 0);
  assert.equal(await r.del('a'), 0);
  assert.equal(await r.unlink('b', 'c'), 2);
  assert.equal(await r.dbsize(), 0);
});

test('TYPE', async () => {
  await r.set('s', 'v');
  assert.equal(await r.type('s'), 'string');
  assert.equal(await r.type('missing'), 'none');
});

test('RENAME / RENAMENX', async () => {
  await r.set('src', 'v', 'EX', 100);
  assert.equal(await r.rename('src', 'dst'), 'OK');
  assert.equal(await r.exists('src'), 0);
  assert.equal(await r.get('dst'), 'v');
  assert.ok((await r.ttl('dst')) > 95, 'TTL moves with the key');
  await assert.rejects(r.rename('missing', 'x'), { name: 'ReplyError', message: 'ERR no such key' });
  await r.set('other', 'o');
  assert.equal(await r.renamenx('dst', 'other'), 0);
  assert.equal(await r.renamenx('dst', 'fresh'), 1);
  assert.equal(await r.get('fresh'), 'v');
  assert.equal(await r.rename('fresh', 'fresh'), 'OK');
  assert.equal(await r.get('fresh'), 'v');
});

test('EXPIRE / TTL / PTTL / PERSIST', async () => {
  assert.equal(await r.ttl('missing'), -2);
  assert.equal(await r.pttl('missing'), -2);
  assert.equal(await r.expire('missing', 10), 0);
  await r.set('k', 'v');
  assert.equal(await r.ttl('k'), -1);
  assert.equal(await r.persist('k'), 0);
  assert.equal(await r.expire('k', 100), 1);
  const ttl = await r.ttl('k');
  assert.ok(ttl > 95 && ttl <= 100, `ttl ${ttl}`);
  const pttl = await r.pttl('k');
  assert.ok(pttl > 95000 && pttl <= 100000, `pttl ${pttl}`);
  assert.equal(await r.persist('k'), 1);
  assert.equal(await r.ttl('k'), -1);
  assert.equal(await r.pexpire('k', 100000), 1);
  assert.ok((await r.ttl('k')) > 95);
  assert.equal(await r.expire('k', 200, 'GT'), 1);
  assert.equal(await r.expire('k', 50, 'GT'), 0);
  assert.equal(await r.expire('k', 50, 'NX'), 0);
});

test('a key with a short EXPIRE disappears', async () => {
  await r.set('k', 'v');
  assert.equal(await r.pexpire('k', 50), 1);
  await sleep(200);
  assert.equal(await r.get('k'), null);
  assert.equal(await r.ttl('k'), -2);
  assert.equal(await r.expire('neg', -1), 0);
  await r.set('gone', 'v');
  assert.equal(await r.expire('gone', -1), 1); // a non-positive TTL deletes
  assert.equal(await r.exists('gone'), 0);
});

test('scanStream returns every key exactly once', async () => {
  const expected = new Set();
  const args = [];
  for (let i = 0; i < 1000; i++) {
    const k = `scan:${i}`;
    expected.add(k);
    args.push(k, String(i));
  }
  for (let i = 0; i < 50; i++) args.push(`other:${i}`, 'x');
  await r.mset(...args);

  const { keys, batches } = await collect(r.scanStream({ match: 'scan:*', count: 100 }));
  assert.ok(batches > 1, 'SCAN took more than one round trip');
  assert.equal(new Set(keys).size, keys.length, 'no key returned twice');
  assert.deepEqual(new Set(keys), expected);

  const all = await collect(r.scanStream());
  assert.equal(all.keys.length, 1050);
  assert.equal(new Set(all.keys).size, 1050);
});

test('scanStream on an empty database ends with no keys', async () => {
  const { keys } = await collect(r.scanStream({ count: 10 }));
  assert.deepEqual(keys, []);
});

test('SCAN with TYPE and KEYS pattern', async () => {
  await r.mset('user:1', 'a', 'user:2', 'b', 'item:1', 'c');
  const { keys } = await collect(r.scanStream({ match: 'user:*', type: 'string' }));
  assert.deepEqual(keys.sort(), ['user:1', 'user:2']);
  assert.deepEqual((await r.keys('user:*')).sort(), ['user:1', 'user:2']);
  const [cursor, page] = await r.scan('0', 'MATCH', 'item:*', 'COUNT', 1000);
  assert.equal(cursor, '0');
  assert.deepEqual(page, ['item:1']);
});
