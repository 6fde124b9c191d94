'use strict';
// Strings: SET options, GET, MGET/MSET, INCR family, INCRBYFLOAT, APPEND,
// GETRANGE/SETRANGE, binary-safe Buffers.
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, sleep } = require('../lib/server');

const ctx = useServer();
let r;
beforeEach(async () => {
  r = r || ctx.client();
  await r.flushall();
});

test('SET / GET', async () => {
  assert.equal(await r.get('missing'), null);
  assert.equal(await r.set('k', 'v'), 'OK');
  assert.equal(await r.get('k'), 'v');
  assert.equal(await r.set('k', 'unicode ✓ é'), 'OK');
  assert.equal(await r.get('k'), 'unicode ✓ é');
  assert.equal(await r.set('n', 42), 'OK'); // numbers are sent as strings
  assert.equal(await r.get('n'), '42');
  assert.equal(await r.set('empty', ''), 'OK');
  assert.equal(await r.get('empty'), '');
});

test('SET EX sets a TTL; SET without KEEPTTL clears it; KEEPTTL keeps it', async () => {
  assert.equal(await r.set('k', 'v', 'EX', 100), 'OK');
  const ttl = await r.ttl('k');
  assert.ok(ttl > 95 && ttl <= 100, `ttl ${ttl}`);
  assert.equal(await r.set('k', 'v2', 'KEEPTTL'), 'OK');
  assert.ok((await r.ttl('k')) > 95);
  assert.equal(await r.set('k', 'v3'), 'OK');
  assert.equal(await r.ttl('k'), -1);
  assert.equal(await r.set('p', 'v', 'PX', 100000), 'OK');
  const pttl = await r.pttl('p');
  assert.ok(pttl > 95000 && pttl <= 100000, `pttl ${pttl}`);
});

test('SET PX expires the key', async () => {
  assert.equal(await r.set('short', 'v', 'PX', 50), 'OK');
  await sleep(200);
  assert.equal(await r.get('short'), null);
  assert.equal(await r.exists('short'), 0);
});

test('SET NX / XX', async () => {
  assert.equal(await r.set('k', 'v1', 'NX'), 'OK');
  assert.equal(await r.set('k', 'v2', 'NX'), null);
  assert.equal(await r.get('k'), 'v1');
  assert.equal(await r.set('k', 'v3', 'XX'), 'OK');
  assert.equal(await r.set('absent', 'v', 'XX'), null);
  assert.equal(await r.exists('absent'), 0);
  assert.equal(await r.set('k2', 'v', 'EX', 100, 'NX'), 'OK');
  assert.ok((await r.ttl('k2')) > 95);
  assert.equal(await r.setnx('k2', 'other'), 0);
});

test('SET GET returns the old value', async () => {
  assert.equal(await r.set('k', 'old'), 'OK');
  assert.equal(await r.set('k', 'new', 'GET'), 'old');
  assert.equal(await r.get('k'), 'new');
  assert.equal(await r.set('fresh', 'x', 'GET'), null);
  assert.equal(await r.get('fresh'), 'x');
  assert.equal(await r.set('k', 'newer', 'EX', 100, 'GET'), 'new');
  assert.ok((await r.ttl('k')) > 95);
});

test('SET with bad options is a syntax error', async () => {
  await assert.rejects(r.set('k', 'v', 'NX', 'XX'), { message: 'ERR syntax error' });
  await assert.rejects(r.set('k', 'v', 'EX', 0),
    { message: "ERR invalid expire time in 'set' command" });
  await assert.rejects(r.set('k', 'v', 'EX', 'ten'),
    { message: 'ERR value is not an integer or out of range' });
});

test('MSET / MGET (object and argument forms)', async () => {
  assert.equal(await r.mset({ a: '1', b: '2' }), 'OK');
  assert.equal(await r.mset('c', '3', 'd', '4'), 'OK');
  assert.deepEqual(await r.mget('a', 'b', 'missing', 'c', 'd'), ['1', '2', null, '3', '4']);
  assert.deepEqual(await r.mget(['d', 'a']), ['4', '1']);
  assert.equal(await r.msetnx({ a: 'x', z: 'y' }), 0);
  assert.equal(await r.get('z'), null);
  assert.equal(await r.msetnx({ y: 'x', z: 'y' }), 1);
});

test('INCR / DECR / INCRBY / DECRBY', async () => {
  assert.equal(await r.incr('c'), 1);
  assert.equal(await r.incr('c'), 2);
  assert.equal(await r.incrby('c', 10), 12);
  assert.equal(await r.decr('c'), 11);
  assert.equal(await r.decrby('c', 20), -9);
  assert.equal(await r.get('c'), '-9');
  // 64-bit results: stringNumbers keeps them exact (a JS number cannot)
  const exact = ctx.client({ stringNumbers: true });
  await r.set('big', '9223372036854775806');
  assert.equal(await exact.incr('big'), '9223372036854775807');
  assert.equal(await r.get('big'), '9223372036854775807');
  assert.equal(await exact.decrby('neg', '9223372036854775807'), '-9223372036854775807');
  await assert.rejects(r.incr('big'),
    { name: 'ReplyError', message: 'ERR increment or decrement would overflow' });
});

test('INCRBYFLOAT', async () => {
  assert.equal(await r.incrbyfloat('f', 10.5), '10.5');
  assert.equal(await r.incrbyfloat('f', 0.1), '10.6');
  assert.equal(await r.incrbyfloat('f', -5), '5.6');
  await r.set('e', '5.0e3');
  assert.equal(await r.incrbyfloat('e', '2.0e2'), '5200');
  await r.set('i', '3');
  assert.equal(await r.incrbyfloat('i', 1), '4');
  await r.set('s', 'abc');
  await assert.rejects(r.incrbyfloat('s', 1), { message: 'ERR value is not a valid float' });
});

test('APPEND / STRLEN', async () => {
  assert.equal(await r.append('k', 'Hello'), 5);
  assert.equal(await r.append('k', ' World'), 11);
  assert.equal(await r.get('k'), 'Hello World');
  assert.equal(await r.strlen('k'), 11);
  assert.equal(await r.strlen('missing'), 0);
});

test('GETRANGE / SETRANGE', async () => {
  await r.set('k', 'This is a string');
  assert.equal(await r.getrange('k', 0, 3), 'This');
  assert.equal(await r.getrange('k', -3, -1), 'ing');
  assert.equal(await r.getrange('k', 0, -1), 'This is a string');
  assert.equal(await r.getrange('k', 10, 100), 'string');
  assert.equal(await r.getrange('k', 5, 3), '');
  assert.equal(await r.getrange('missing', 0, 10), '');
  assert.equal(await r.setrange('k', 10, 'STRING'), 16);
  assert.equal(await r.get('k'), 'This is a STRING');
  // SETRANGE past the end pads with zero bytes
  assert.equal(await r.setrange('pad', 5, 'x'), 6);
  assert.deepEqual(await r.getBuffer('pad'), Buffer.from([0, 0, 0, 0, 0, 0x78]));
  await assert.rejects(r.setrange('k', -1, 'x'), { message: 'ERR offset is out of range' });
});

test('binary-safe values and keys with \\x00 and \\xff (Buffers)', async () => {
  const value = Buffer.from([0x00, 0xff, 0x00, 0x80, 0x0d, 0x0a, 0xfe, 0x00]);
  const key = Buffer.from([0x6b, 0x00, 0xff, 0x0d, 0x0a]);
  assert.equal(await r.set(key, value), 'OK');
  const got = await r.getBuffer(key);
  assert.ok(Buffer.isBuffer(got));
  assert.deepEqual(got, value);
  assert.equal(await r.strlen(key), value.length);
  assert.equal(await r.exists(key), 1);
  assert.equal(await r.exists(Buffer.from([0x6b, 0x00, 0xff])), 0); // no truncation at \x00
  assert.deepEqual(await r.getrangeBuffer(key, 1, 3), Buffer.from([0xff, 0x00, 0x80]));
  assert.equal(await r.append(key, Buffer.from([0xff, 0x00])), value.length + 2);
  assert.deepEqual(await r.getBuffer(key), Buffer.concat([value, Buffer.from([0xff, 0x00])]));
  await r.mset(Buffer.from([0xff]), Buffer.from([0x00]), Buffer.from([0x00]), Buffer.from([0xff]));
  assert.deepEqual(await r.mgetBuffer(Buffer.from([0xff]), Buffer.from([0x00]), 'nope'),
    [Buffer.from([0x00]), Buffer.from([0xff]), null]);
  // every byte value round-trips
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await r.set('all-bytes', all);
  assert.deepEqual(await r.getBuffer('all-bytes'), all);
  await r.setrange('all-bytes', 254, Buffer.from([0x00, 0xff, 0x00]));
  const after = await r.getBuffer('all-bytes');
  assert.equal(after.length, 257);
  assert.deepEqual(after.subarray(252), Buffer.from([252, 253, 0x00, 0xff, 0x00]));
});

test('large value (1 MiB) round-trips', async () => {
  const big = Buffer.alloc(1 << 20, 0xab);
  big[0] = 0; big[big.length - 1] = 0xff;
  assert.equal(await r.set('big', big), 'OK');
  assert.deepEqual(await r.getBuffer('big'), big);
  assert.equal(await r.strlen('big'), 1 << 20);
});

test('GETSET / GETDEL / GETEX', async () => {
  assert.equal(await r.getset('k', 'a'), null);
  assert.equal(await r.getset('k', 'b'), 'a');
  assert.equal(await r.getdel('k'), 'b');
  assert.equal(await r.exists('k'), 0);
  await r.set('k', 'v');
  assert.equal(await r.getex('k', 'EX', 100), 'v');
  assert.ok((await r.ttl('k')) > 95);
  assert.equal(await r.getex('k', 'PERSIST'), 'v');
  assert.equal(await r.ttl('k'), -1);
});
