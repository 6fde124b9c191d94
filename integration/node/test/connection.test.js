'use strict';
// Connecting with ioredis defaults (RESP2), PING/ECHO, INFO, SELECT, CLIENT SETNAME/GETNAME.
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, Redis, HOST, parseInfo } = require('../lib/server');

const ctx = useServer();
let r;
beforeEach(async () => {
  r = r || ctx.client();
  await r.select(0);
  await r.flushall();
});

test('connects with entirely default options (RESP2, INFO ready check, CLIENT SETINFO)', async () => {
  const c = new Redis(ctx.port, HOST); // nothing but the address
  try {
    await new Promise((resolve, reject) => {
      c.once('ready', resolve);
      c.once('error', reject);
      c.once('end', () => reject(new Error('connection ended before ready')));
    });
    assert.equal(c.status, 'ready');
    assert.equal(await c.ping(), 'PONG');
    assert.equal(await c.ping('hello'), 'hello');
    assert.equal(await c.echo('x y'), 'x y');
    assert.equal(await c.set('default:k', 'v'), 'OK');
    assert.equal(await c.get('default:k'), 'v');
  } finally {
    await c.quit();
  }
});

test('QUIT resolves OK and ends the connection', async () => {
  const c = ctx.client();
  assert.equal(await c.ping(), 'PONG');
  const ended = new Promise((resolve) => c.once('end', resolve));
  assert.equal(await c.quit(), 'OK');
  await ended;
  assert.equal(c.status, 'end');
});

test('INFO parses and reports redis_version', async () => {
  const info = parseInfo(await r.info());
  assert.match(info.redis_version, /^\d+\.\d+\.\d+/);
  assert.ok(Number(info.tcp_port) === ctx.port, `tcp_port ${info.tcp_port} != ${ctx.port}`);
  const server = await r.info('server');
  assert.match(server, /^# Server\r\n/);
  assert.match(parseInfo(server).redis_version, /^\d+\.\d+\.\d+/);
  const ks = parseInfo(await r.info('keyspace'));
  assert.equal(ks.db0, undefined); // flushed
  await r.set('a', '1');
  assert.match(parseInfo(await r.info('keyspace')).db0, /^keys=1,expires=0/);
});

test('SELECT 3 isolates keys; the db option selects on connect', async () => {
  assert.equal(await r.select(3), 'OK');
  assert.equal(await r.set('dbk', 'three'), 'OK');
  const db0 = ctx.client();
  assert.equal(await db0.get('dbk'), null);
  const db3 = ctx.client({ db: 3 });
  assert.equal(await db3.get('dbk'), 'three');
  assert.equal(await db3.dbsize(), 1);
  assert.equal(await db0.dbsize(), 0);
  await r.select(0);
  assert.equal(await r.get('dbk'), null);
});

test('SELECT out of range is an error', async () => {
  const c = ctx.client();
  await assert.rejects(c.select(9999), (err) => {
    assert.ok(err instanceof Redis.ReplyError);
    assert.equal(err.message, 'ERR DB index is out of range');
    return true;
  });
  assert.equal(await c.ping(), 'PONG');
});

test('CLIENT SETNAME / GETNAME', async () => {
  const c = ctx.client();
  assert.equal(await c.client('GETNAME'), null);
  assert.equal(await c.client('SETNAME', 'node-it'), 'OK');
  assert.equal(await c.client('GETNAME'), 'node-it');
  const list = await c.client('LIST');
  assert.match(list, /name=node-it /);
  await assert.rejects(c.client('SETNAME', 'has space'), Redis.ReplyError);
  assert.equal(await c.client('GETNAME'), 'node-it');
});

test('connectionName option sends CLIENT SETNAME on connect', async () => {
  const c = ctx.client({ connectionName: 'named-on-connect' });
  assert.equal(await c.client('GETNAME'), 'named-on-connect');
});

test('CLIENT ID is an integer and distinct per connection', async () => {
  const a = await ctx.client().client('ID');
  const b = await ctx.client().client('ID');
  assert.equal(typeof a, 'number');
  assert.notEqual(a, b);
});
