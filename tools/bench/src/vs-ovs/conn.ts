/**
 * New-TCP-connections-per-second tool (run inside a host namespace by the vs-ovs benchmark):
 *
 *   node conn.js server PORT
 *     listens on every address; each accepted connection gets one byte ('x') and a FIN at once
 *     (the server closes first, so TIME_WAIT stays on its side and the client's ports recycle).
 *     Prints "ready" once listening; runs until killed.
 *   node conn.js client HOST PORT MAX_COUNT MAX_MS PARALLEL
 *     keeps PARALLEL connections in flight: connect, read to the server's FIN, close, next; stops
 *     after MAX_COUNT completed connections or MAX_MS ms. A connection counts when its byte
 *     arrived and it closed cleanly. Prints one JSON line {connections, errors, seconds}.
 * Exit status 2 on bad usage.
 */
import net from 'node:net';

const [mode, ...args] = process.argv.slice(2);

function usage(): never {
  process.stderr.write('usage: conn.js server PORT | client HOST PORT MAX_COUNT MAX_MS PARALLEL\n');
  process.exit(2);
}

if (mode === 'server') {
  const port = Number(args[0]);
  if (!Number.isInteger(port)) usage();
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.end('x');
  });
  srv.listen({ port, backlog: 4096 }, () => process.stdout.write('ready\n'));
} else if (mode === 'client') {
  const [host, portS, maxS, msS, parS] = args;
  const port = Number(portS);
  const max = Number(maxS);
  const maxMs = Number(msS);
  const par = Number(parS);
  if (!host || ![port, max, maxMs, par].every((n) => Number.isInteger(n) && n > 0)) usage();
  let done = 0;
  let errors = 0;
  let started = 0;
  let running = 0;
  const t0 = process.hrtime.bigint();
  const elapsedMs = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    process.stdout.write(JSON.stringify({ connections: done, errors, seconds: Math.round(elapsedMs()) / 1000 }) + '\n');
    process.exit(0);
  };
  const next = (): void => {
    if (done >= max || elapsedMs() >= maxMs) {
      if (running === 0) finish();
      return;
    }
    started++;
    running++;
    let got = false;
    let failed = false;
    const s = net.connect({ host, port, noDelay: true });
    s.on('data', () => { got = true; });
    s.on('error', () => { failed = true; });
    s.on('close', () => {
      running--;
      if (got && !failed) done++;
      else errors++;
      next();
    });
  };
  for (let i = 0; i < par; i++) next();
  // A hard stop in case connections hang (no SYN-ACK): report what completed.
  setTimeout(finish, maxMs + 5000).unref();
} else {
  usage();
}
