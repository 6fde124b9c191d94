'use strict';
// Error replies reach ioredis as ReplyError with Redis's exact text, and the
// connection stays usable afterwards.
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, Redis } = require('../lib/server');

const ctx = useServer();
let r;
beforeEach(async () => {
  r = r || ctx.client();
  await r.flushall();
});

/** assert.rejects matcher: a ReplyError whose message is exactly `text`. */
const replyError = (text) => (err) => {
  assert.ok(err instanceof Redis.ReplyError, `not a ReplyError: ${err && err.stack}`);
  assert.equal(err.name, 'ReplyError');
  assert.equal(err.message, text);
  return true;
};

test('wrong number of arguments', async () => {
  await assert.rejects(r.call('GET'), replyError("ERR wrong number of arguments for 'get' command"));
  await assert.rejects(r.call('get', 'a', 'b'), replyError("ERR wrong number of arguments for 'get' command"));
  await assert.rejects(r.call('SET', 'k'), replyError("ERR wrong number of arguments for 'set' command"));
  await assert.rejects(r.call('MSET', 'a', '1', 'b'),
    replyError("ERR wrong number of arguments for 'mset' command"));
  assert.equal(await r.ping(), 'PONG');
});

test('value is not an integer or out of range', async () => {
  await r.set('s', 'abc');
  await assert.rejects(r.incr('s'), replyError('ERR value is not an integer or out of range'));
  await assert.rejects(r.incrby('c', 'x'), replyError('ERR value is not an integer or out of range'));
  await assert.rejects(r.expire('s', 'soon'), replyError('ERR value is not an integer or out of range'));
  await r.set('f', '1.5');
  await assert.rejects(r.incr('f'), replyError('ERR value is not an integer or out of range'));
  assert.equal(await r.get('s'), 'abc');
  assert.equal(await r.get('f'), '1.5');
});

test('the error carries the failed command', async () => {
  await r.set('s', 'abc');
  const err = await r.incr('s').then(() => null, (e) => e);
  assert.ok(err instanceof Redis.ReplyError);
  assert.equal(err.command.name, 'incr');
  assert.deepEqual(err.command.args, ['s']);
});

test('unknown command', async () => {
  await assert.rejects(r.call('NOSUCHCMD', 'a', 'b'),
    replyError("ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' "));
  await assert.rejects(r.call('nosuchcmd'),
    replyError("ERR unknown command 'nosuchcmd', with args beginning with: "));
  assert.equal(await r.ping(), 'PONG');
});

test('syntax error', async () => {
  await assert.rejects(r.call('SET', 'k', 'v', 'BOGUS'), replyError('ERR syntax error'));
  assert.equal(await r.exists('k'), 0);
});

test('callback API receives the same error', async () => {
  await r.set('s', 'abc');
  const err = await new Promise((resolve) => r.incr('s', (e) => resolve(e)));
  assert.ok(err instanceof Redis.ReplyError);
  assert.equal(err.message, 'ERR value is not an integer or out of range');
});

test('many errors interleaved with good replies keep the stream in order', async () => {
  await r.set('s', 'abc');
  const jobs = [];
  for (let i = 0; i < 200; i++) {
    jobs.push(r.incr('s').then(() => 'ok', (e) => e.message));
    jobs.push(r.echo(`e${i}`));
  }
  const out = await Promise.all(jobs);
  for (let i = 0; i < 200; i++) {
    assert.equal(out[2 * i], 'ERR value is not an integer or out of range');
    assert.equal(out[2 * i + 1], `e${i}`);
  }
});
