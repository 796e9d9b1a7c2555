'use strict';
// Koa 3 + @koa/router: the reference aiokoa is measured against, serving every scenario.
// Usage: node server.js <app> [port]   where <app> is hello | stack | json | post | upload |
// compress | batteries | depth-N | routes-N | static | websocket (or set APP and PORT). Mirrors benchmarks/scenarios.py exactly.

const fs = require('fs');
const Koa = require('koa');
const Router = require('@koa/router');
const compress = require('koa-compress');
const serve = require('koa-static');
const path = require('path');
const { bodyParser } = require('@koa/bodyparser');
const { koaBody } = require('koa-body');
const cors = require('@koa/cors');
const helmet = require('koa-helmet');
const { createSession } = require('koa-session');
const ratelimit = require('koa-ratelimit');
const websockify = require('koa-websocket');

const HELLO = 'Hello World';
// The batteries scenario's constants, as in scenarios.py.
const SESSION_SECRET = 'benchmark-secret-32-bytes-long!!';
const SESSION_USER = 'ada';
const RATE_LIMIT_MAX = 1000000000;

// Same generator as scenarios.py so both sides send identical JSON.
function jsonPayload(count = 132) {
  const items = [];
  for (let i = 0; i < count; i++) {
    items.push({
      id: i,
      name: `item-${String(i).padStart(3, '0')}`,
      active: i % 3 !== 0,
      score: Math.round(i * 1.25 * 100) / 100,
      tags: i % 2 ? ['alpha', 'beta'] : ['gamma'],
    });
  }
  return { count: items.length, items };
}

const PAYLOAD = jsonPayload();
const COMPRESS_PAYLOAD = jsonPayload(1320); // about 100 kB: the compress scenario

const passThrough = async (ctx, next) => {
  await next();
};

const hello = async (ctx) => {
  ctx.body = HELLO;
};

function build(spec) {
  const [kind, sizeText] = spec.split('-');
  // koa-websocket adds `app.ws`, a second middleware stack for websocket connections.
  const app = kind === 'websocket' ? websockify(new Koa({ env: 'production' })) : new Koa({ env: 'production' });
  const size = Number(sizeText || 0);
  if (kind === 'hello') {
    app.use(hello);
  } else if (kind === 'depth') {
    for (let i = 0; i < size; i++) app.use(passThrough);
    app.use(hello);
  } else if (kind === 'json') {
    app.use(async (ctx) => {
      ctx.body = PAYLOAD;
    });
  } else if (kind === 'compress') {
    app.use(compress()); // its defaults: gzip level 6, br quality 4, from 1 kB
    app.use(async (ctx) => {
      ctx.body = COMPRESS_PAYLOAD;
    });
  } else if (kind === 'post') {
    const router = new Router();
    router.post('/echo', (ctx) => {
      ctx.body = ctx.request.body;
    });
    app.use(bodyParser());
    app.use(router.routes());
  } else if (kind === 'upload') {
    // koa-body streams the file to a temporary file (formidable); removed once answered
    const router = new Router();
    router.post('/upload', koaBody({ multipart: true, formidable: { maxFileSize: 200 * 1024 * 1024 } }), async (ctx) => {
      const file = ctx.request.files.file;
      ctx.body = { filename: file.originalFilename, size: file.size };
      await fs.promises.unlink(file.filepath);
    });
    app.use(router.routes());
  } else if (kind === 'stack') {
    const router = new Router();
    router.get('/users/:id', (ctx) => {
      ctx.body = { id: ctx.params.id, name: 'user' + ctx.params.id };
    });
    app.use(async (ctx, next) => {
      const start = performance.now();
      await next();
      ctx.set('X-Response-Time', `${(performance.now() - start).toFixed(3)}ms`);
    });
    app.use(async (ctx, next) => {
      // Koa's logger example, measuring but not printing.
      const start = performance.now();
      await next();
      void [ctx.method, ctx.url, performance.now() - start];
    });
    for (let i = 0; i < 3; i++) app.use(passThrough);
    app.use(router.routes());
  } else if (kind === 'batteries') {
    // helmet's defaults, @koa/cors (any origin), a signed cookie session, a rate limit in
    // memory, then the router: the same front of an API as the Python apps'.
    app.keys = [SESSION_SECRET];
    const router = new Router();
    router.get('/login', (ctx) => {
      ctx.session.user = SESSION_USER;
      ctx.body = { user: SESSION_USER };
    });
    router.get('/api/users/:id', (ctx) => {
      ctx.body = { id: ctx.params.id, name: 'user' + ctx.params.id, viewer: ctx.session.user ?? null };
    });
    app.use(helmet());
    app.use(cors());
    app.use(createSession(app));
    app.use(
      ratelimit({ driver: 'memory', db: new Map(), duration: 3600 * 1000, max: RATE_LIMIT_MAX, id: (ctx) => ctx.ip }),
    );
    app.use(router.routes());
  } else if (kind === 'routes') {
    const router = new Router();
    for (let i = 0; i < size; i++) {
      router.get(`/r${i}/:id`, (ctx) => {
        ctx.body = `r${i}:${ctx.params.id}`;
      });
    }
    app.use(router.routes());
  } else if (kind === 'websocket') {
    // Each message comes back as it came (text as text), through the ws stack and a route.
    const router = new Router();
    router.all('/echo', (ctx) => {
      ctx.websocket.on('message', (message, isBinary) => ctx.websocket.send(message, { binary: isBinary }));
    });
    app.ws.use(router.routes());
  } else if (kind === 'static') {
    // koa-static under /static/, as koa-mount would put it: the prefix comes off the path.
    const files = serve(path.join(__dirname, '..', '.static'));
    app.use(async (ctx, next) => {
      if (!ctx.path.startsWith('/static/')) return next();
      ctx.path = ctx.path.slice('/static'.length);
      return files(ctx, next);
    });
  } else {
    throw new Error(`unknown app ${spec}`);
  }
  return app;
}

const spec = process.argv[2] || process.env.APP || 'hello';
const port = Number(process.argv[3] || process.env.PORT || 3000);
build(spec).listen(port, '127.0.0.1', () => {
  process.stdout.write(`koa ${spec} listening on 127.0.0.1:${port}\n`);
});
