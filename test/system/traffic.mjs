// Traffic endpoints for the system tests, run inside a host's network namespace
// (`ip netns exec NS node traffic.mjs MODE ...`). Plain JavaScript: it runs without tsx.
//
//   tcp-recv PORT                  accept one connection; print "listening", then on EOF one JSON line
//                                  {bytes, sha256} of everything received
//   tcp-send HOST PORT BYTES [KBPS] send BYTES pseudo-random bytes (seeded, 64 KiB writes; KBPS > 0
//                                  paces the stream to about that many KiB/s); print {bytes, sha256}
//   udp-echo PORT                  echo every datagram back to its sender; print "listening"
//   udp-check HOST PORT COUNT      send COUNT datagrams of sizes 1..1472 (cycling, each with a
//                                  sequence number and a pattern), one at a time, waiting up to
//                                  300 ms for the echo, 5 tries each; print {sent, echoed, tries,
//                                  mismatched} (mismatched: echoes whose bytes differ)
// Exit status: 0 done, 1 failure (message on stderr), 2 usage.
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

const [mode, ...a] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (m) => { process.stderr.write(`traffic: ${m}\n`); process.exit(1); };
const usage = () => { process.stderr.write('usage: traffic.mjs tcp-recv PORT | tcp-send HOST PORT BYTES [KBPS] | udp-echo PORT | udp-check HOST PORT COUNT\n'); process.exit(2); };

/** xorshift32 stream: deterministic, incompressible enough, cheap. */
function fill(buf, state) {
  let x = state;
  for (let i = 0; i + 4 <= buf.length; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  return x;
}

if (mode === 'tcp-recv') {
  const port = Number(a[0]);
  if (!Number.isInteger(port)) usage();
  const srv = net.createServer((s) => {
    srv.close();
    const h = createHash('sha256');
    let bytes = 0;
    s.on('data', (d) => { h.update(d); bytes += d.length; });
    s.on('end', () => { out({ bytes, sha256: h.digest('hex') }); s.end(); });
    s.on('error', (e) => fail(`receive: ${e.message}`));
  });
  srv.listen(port, () => process.stdout.write('listening\n'));
} else if (mode === 'tcp-send') {
  const [host, portS, bytesS, kbpsS] = a;
  const port = Number(portS);
  const total = Number(bytesS);
  const kbps = Number(kbpsS ?? 0);
  if (!host || !Number.isInteger(port) || !Number.isInteger(total)) usage();
  const h = createHash('sha256');
  const s = net.connect({ host, port }, () => {
    let sent = 0;
    let state = 0x9e3779b9;
    const t0 = Date.now();
    const pump = () => {
      while (sent < total) {
        if (kbps > 0 && sent / 1024 > ((Date.now() - t0) / 1000) * kbps) { setTimeout(pump, 5); return; }
        const chunk = Buffer.allocUnsafe(Math.min(65536, total - sent));
        state = fill(chunk, state);
        h.update(chunk);
        sent += chunk.length;
        if (!s.write(chunk)) { s.once('drain', pump); return; }
      }
      s.end();
      out({ bytes: sent, sha256: h.digest('hex') });
    };
    pump();
  });
  s.on('error', (e) => fail(`send: ${e.message}`));
  s.setTimeout(30000, () => fail('send: no progress for 30 s'));
} else if (mode === 'udp-echo') {
  const port = Number(a[0]);
  if (!Number.isInteger(port)) usage();
  const sock = dgram.createSocket('udp4');
  sock.on('message', (m, r) => sock.send(m, r.port, r.address));
  sock.bind(port, () => process.stdout.write('listening\n'));
} else if (mode === 'udp-check') {
  const [host, portS, countS] = a;
  const port = Number(portS);
  const count = Number(countS);
  if (!host || !Number.isInteger(port) || !Number.isInteger(count)) usage();
  const sock = dgram.createSocket('udp4');
  let echoed = 0, tries = 0, mismatched = 0, seq = 0, cur = null, timer = null, attempt = 0;
  const make = (n) => {
    const size = 1 + ((n * 97) % 1472);
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = (n * 31 + i) & 0xff;
    if (size >= 4) b.writeUInt32BE(n, 0);
    return b;
  };
  const next = () => {
    if (seq >= count) { out({ sent: count, echoed, tries, mismatched }); sock.close(); return; }
    if (attempt === 0) cur = make(seq);
    if (attempt === 5) { attempt = 0; seq++; next(); return; }
    attempt++; tries++;
    sock.send(cur, port, host);
    timer = setTimeout(next, 300);
  };
  sock.on('message', (m) => {
    if (!cur) return;
    if (!m.equals(cur)) {
      // A late echo of an earlier datagram is not a mismatch; different bytes of the same length are.
      if (m.length === cur.length) mismatched++;
      return;
    }
    clearTimeout(timer);
    echoed++; attempt = 0; seq++;
    next();
  });
  sock.on('error', (e) => fail(`udp: ${e.message}`));
  next();
} else usage();
