'use strict';
// AUTH through ioredis's `password` option against a server started with
// --requirepass (vaylix accepts the same flag as redis-server).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, Redis } = require('../lib/server');

const PASSWORD = 'n0de-s3cret';
const ctx = useServer({ extraArgs: ['--requirepass', PASSWORD], name: 'auth' });

test('password option authenticates on connect', async () => {
  const c = ctx.client({ password: PASSWORD });
  assert.equal(await c.ping(), 'PONG');
  assert.equal(await c.set('k', 'v'), 'OK');
  assert.equal(await c.get('k'), 'v');
});

test('password together with db and connectionName', async () => {
  const c = ctx.client({ password: PASSWORD, db: 3, connectionName: 'authed' });
  assert.equal(await c.set('in3', 'x'), 'OK');
  assert.equal(await c.client('GETNAME'), 'authed');
  const d0 = ctx.client({ password: PASSWORD });
  assert.equal(await d0.get('in3'), null);
  assert.equal(await ctx.client({ password: PASSWORD, db: 3 }).get('in3'), 'x');
});

test('without a password commands fail with NOAUTH', async () => {
  // the INFO ready check itself is refused, so skip it to reach the commands
  const c = ctx.client({ enableReadyCheck: false });
  await assert.rejects(c.get('k'), (err) => {
    assert.ok(err instanceof Redis.ReplyError);
    assert.equal(err.message, 'NOAUTH Authentication required.');
    return true;
  });
  // an explicit AUTH on the same connection then works
  assert.equal(await c.auth(PASSWORD), 'OK');
  assert.equal(await c.ping(), 'PONG');
});

test('a wrong password is refused with WRONGPASS', async () => {
  const c = ctx.client({ enableReadyCheck: false, lazyConnect: true });
  await c.connect();
  await assert.rejects(c.auth('wrong'), (err) => {
    assert.ok(err instanceof Redis.ReplyError);
    assert.equal(err.message, 'WRONGPASS invalid username-password pair or user is disabled.');
    return true;
  });
  await assert.rejects(c.ping(), { message: 'NOAUTH Authentication required.' });
});

test('a wrong password option makes commands fail instead of hanging', async () => {
  const c = ctx.client({ password: 'wrong', maxRetriesPerRequest: 0 });
  await assert.rejects(c.ping(), (err) => {
    assert.ok(err instanceof Redis.ReplyError);
    assert.equal(err.message, 'WRONGPASS invalid username-password pair or user is disabled.');
    return true;
  });
});
