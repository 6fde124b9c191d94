'use strict';
// Server-under-test helpers for the ioredis compatibility suite.
//
// The server comes from the environment, exactly like the Python suite:
//   VAYLIX_BIN=/path/to/vaylix             -> vaylix (preferred when set)
//   REDIS_SERVER_BIN=/usr/bin/redis-server -> real Redis (reference run)
//   TEST_AGAINST_REDIS=1                   -> redis-server from PATH
// With none of them set, every test file fails (never "0 tests").
//
// Each test file starts its own server on a free loopback port in a fresh
// temporary directory (node --test runs every file in its own process), waits
// up to 10 s for PING, and stops it by PID in `after`.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { before, after } = require('node:test');
const Redis = require('ioredis');

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

function which(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

/** { kind: 'vaylix' | 'redis' | null, binary } */
function serverUnderTest() {
  if (process.env.VAYLIX_BIN) return { kind: 'vaylix', binary: process.env.VAYLIX_BIN };
  if (process.env.REDIS_SERVER_BIN) return { kind: 'redis', binary: process.env.REDIS_SERVER_BIN };
  if (process.env.TEST_AGAINST_REDIS === '1') {
    const found = which('redis-server');
    if (found) return { kind: 'redis', binary: found };
  }
  return { kind: null, binary: null };
}

const { kind: KIND, binary: BINARY } = serverUnderTest();
const IS_VAYLIX = KIND === 'vaylix';
const NO_SERVER_MESSAGE =
  'no server under test: set VAYLIX_BIN=/path/to/vaylix, or ' +
  'REDIS_SERVER_BIN=/usr/bin/redis-server, or TEST_AGAINST_REDIS=1 ' +
  '(see integration/README.md)';

/** Split a shell-like string on whitespace, honouring simple quotes. */
function splitArgs(s) {
  const out = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(s || '')) !== null) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolve true when `promise` settles within `ms`, false otherwise (timer cleared). */
function waitFor(promise, ms) {
  let timer;
  const timeout = new Promise((r) => { timer = setTimeout(() => r(false), ms); });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/** One raw PING; resolves to the first bytes of the reply (or null). */
function rawPing(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), 1000);
    sock.on('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (d) => finish(d.toString('latin1')));
    sock.on('error', () => finish(null));
    sock.on('close', () => finish(null));
  });
}

// Every started server, so an unexpected exit still kills them (by PID).
const live = new Set();
process.on('exit', () => {
  for (const s of live) {
    try { process.kill(s.proc.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

class ServerProcess {
  constructor({ extraArgs = [], name = 'main' } = {}) {
    if (!KIND) throw new Error(NO_SERVER_MESSAGE);
    this.kind = KIND;
    this.binary = BINARY;
    this.extraArgs = extraArgs;
    this.name = name;
    this.tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), `${KIND}-node-it-${name}-`));
    this.logPath = path.join(this.tmpdir, 'server.log');
    this.proc = null;
    this.port = null;
    this.exited = null;
  }

  commandLine(port) {
    let args;
    if (this.kind === 'vaylix') {
      args = ['--port', String(port), '--bind', HOST, '--data-dir', this.tmpdir,
        ...splitArgs(process.env.VAYLIX_EXTRA_ARGS)];
    } else {
      args = ['--port', String(port), '--bind', HOST, '--save', '',
        '--appendonly', 'no', '--dir', this.tmpdir];
    }
    return [...args, ...this.extraArgs];
  }

  async start() {
    if (!fs.existsSync(this.binary)) {
      throw new Error(`${this.kind} binary not found: ${this.binary}`);
    }
    let lastError;
    for (let attempt = 0; attempt < 3; attempt++) { // a free port can be taken in between
      const port = await freePort();
      const log = fs.openSync(this.logPath, 'a');
      this.proc = spawn(this.binary, this.commandLine(port), {
        cwd: this.tmpdir, stdio: ['ignore', log, log],
      });
      fs.closeSync(log);
      this.port = port;
      this.exited = new Promise((resolve) => {
        this.proc.on('exit', (code, signal) => resolve({ code, signal }));
        this.proc.on('error', (err) => resolve({ code: null, signal: null, err }));
      });
      live.add(this);
      try {
        await this.waitReady();
        return this;
      } catch (err) {
        lastError = err;
        await this.kill();
      }
    }
    throw lastError;
  }

  async waitReady() {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exited = null;
    this.exited.then((e) => { exited = e; });
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(`${this.kind} exited (${JSON.stringify(exited)}) before answering PING:\n${this.logTail()}`);
      }
      const reply = await rawPing(this.port);
      // +PONG, or -NOAUTH on a server started with --requirepass
      if (reply && (reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'))) return;
      await sleep(50);
    }
    throw new Error(`${this.kind} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${this.logTail()}`);
  }

  logTail(n = 4000) {
    try {
      const buf = fs.readFileSync(this.logPath);
      return buf.subarray(Math.max(0, buf.length - n)).toString('utf8');
    } catch {
      return '<no log>';
    }
  }

  async kill() {
    const proc = this.proc;
    if (!proc) return;
    live.delete(this);
    if (proc.exitCode === null && proc.signalCode === null) {
      try { process.kill(proc.pid, 'SIGTERM'); } catch { /* already gone */ }
      if (!(await waitFor(this.exited, STOP_TIMEOUT_MS))) {
        try { process.kill(proc.pid, 'SIGKILL'); } catch { /* already gone */ }
        await waitFor(this.exited, STOP_TIMEOUT_MS);
      }
    }
    this.proc = null;
  }

  async stop() {
    await this.kill();
    fs.rmSync(this.tmpdir, { recursive: true, force: true });
  }
}

/**
 * Client options used by the suite: ioredis DEFAULTS (RESP2, ready check via
 * INFO, CLIENT SETINFO on connect, offline queue, ...) plus the address, and
 * no silent reconnect so a dropped connection fails the test at once instead
 * of hanging.
 */
function clientOptions(port, extra = {}) {
  return { host: HOST, port, retryStrategy: () => null, ...extra };
}

/**
 * Register before/after hooks for one test file: starts the server, hands out
 * clients (all closed in `after`), stops the server by PID.
 * Returns a context object whose fields are filled in by `before`.
 */
function useServer({ extraArgs = [], name = 'main' } = {}) {
  const ctx = {
    server: null,
    port: null,
    isVaylix: IS_VAYLIX,
    kind: KIND,
    clients: [],
    /** new ioredis client for this file's server (closed in `after`) */
    client(extra = {}) {
      const c = new Redis(clientOptions(ctx.port, extra));
      c.on('error', () => { /* surfaced through the rejected commands */ });
      ctx.clients.push(c);
      return c;
    },
  };
  before(async () => {
    if (!KIND) throw new Error(NO_SERVER_MESSAGE);
    ctx.server = await new ServerProcess({ extraArgs, name }).start();
    ctx.port = ctx.server.port;
  });
  after(async () => {
    // (disconnect() on an already-closed client arms a 2 s timer: skip those)
    for (const c of ctx.clients) if (c.status !== 'end') c.disconnect();
    if (ctx.server) await ctx.server.stop();
  });
  return ctx;
}

/** Skip option for node:test: `test(name, vaylixOnly, fn)`. */
const vaylixOnly = IS_VAYLIX ? {} : { skip: 'vaylix-only extension; server under test is Redis' };

/** Parse an INFO reply into { field: value }. */
function parseInfo(text) {
  const info = {};
  for (const line of text.split('\r\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) info[line.slice(0, i)] = line.slice(i + 1);
  }
  return info;
}

module.exports = {
  HOST, KIND, BINARY, IS_VAYLIX, NO_SERVER_MESSAGE, Redis,
  ServerProcess, useServer, clientOptions, vaylixOnly, parseInfo, sleep,
};
