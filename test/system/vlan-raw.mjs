// A VLAN trunk host in userspace for the system tests (this kernel may lack 8021q, so no eth0.10):
// raw 802.1Q frames through the netdev addon's AF_PACKET calls, run inside the trunk host's
// namespace (`ip netns exec NS node vlan-raw.mjs ...`). Plain JavaScript (runs without tsx).
//
//   probe IF VLAN MAC IP TARGET_IP     sends an ARP request tagged VLAN for TARGET_IP from MAC/IP; on
//                                      the first ARP reply (to MAC, for IP) sends 3 ICMP echo requests
//                                      tagged VLAN to the replier; waits 1 s in all. Prints
//                                      {"arp": [{vlan, mac}], "echo": [{vlan, mac}]}: every ARP reply and
//                                      echo reply seen, with the VLAN it carried (0: untagged)
//   capture IF MS                      prints "ready", records every frame for MS ms, then prints
//                                      {"frames": [{vlan, src, dst, type, arp_tpa?}]}
// Frames are received with their tag put back (PACKET_AUXDATA), as the switch's system ports see them.
import { nativeNetdev } from '@tsvs/netdev';

const [mode, ifname, ...a] = process.argv.slice(2);
const n = nativeNetdev();
const macBytes = (s) => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
const macStr = (b, o) => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ipBytes = (s) => Buffer.from(s.split('.').map(Number));
const ipStr = (b, o) => [...b.subarray(o, o + 4)].join('.');

function csum(b) {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length & 1) s += b[b.length - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

function tagged(dst, src, vlan, type, payload) {
  const f = Buffer.alloc(Math.max(64, 18 + payload.length));
  dst.copy(f, 0); src.copy(f, 6);
  f.writeUInt16BE(0x8100, 12); f.writeUInt16BE(vlan & 0xfff, 14); f.writeUInt16BE(type, 16);
  payload.copy(f, 18);
  return f;
}

function arpRequest(vlan, mac, ip, target) {
  const p = Buffer.alloc(28);
  p.writeUInt16BE(1, 0); p.writeUInt16BE(0x0800, 2); p[4] = 6; p[5] = 4; p.writeUInt16BE(1, 6);
  macBytes(mac).copy(p, 8); ipBytes(ip).copy(p, 14); ipBytes(target).copy(p, 24);
  return tagged(Buffer.alloc(6, 0xff), macBytes(mac), vlan, 0x0806, p);
}

function echoRequest(vlan, mac, ip, dstMac, dstIp, seq) {
  const icmp = Buffer.alloc(8 + 32);
  icmp[0] = 8; icmp.writeUInt16BE(0x7e57, 4); icmp.writeUInt16BE(seq, 6);
  for (let i = 8; i < icmp.length; i++) icmp[i] = i;
  icmp.writeUInt16BE(csum(icmp), 2);
  const iph = Buffer.alloc(20);
  iph[0] = 0x45; iph.writeUInt16BE(20 + icmp.length, 2); iph.writeUInt16BE(seq, 4); iph[8] = 64; iph[9] = 1;
  ipBytes(ip).copy(iph, 12); ipBytes(dstIp).copy(iph, 16);
  iph.writeUInt16BE(csum(iph), 10);
  return tagged(macBytes(dstMac), macBytes(mac), vlan, 0x0800, Buffer.concat([iph, icmp]));
}

/** {vlan, type, l3} of a frame (one 802.1Q tag at most). */
function parse(f) {
  let type = f.readUInt16BE(12), vlan = 0, l3 = 14;
  if (type === 0x8100) { vlan = f.readUInt16BE(14) & 0xfff; type = f.readUInt16BE(16); l3 = 18; }
  return { vlan, type, l3 };
}

const rxfd = n.openRx(ifname, -1, 1 << 20)[0];
const txfd = n.openTx(ifname);
const data = new Uint8Array(64 * 2048), offs = new Int32Array(64), lens = new Int32Array(64);
const res = new Int32Array(4), fds = Int32Array.of(rxfd), rev = new Int32Array(1);

function send(frames) {
  for (const [j, f] of frames.entries()) { data.set(f, j * 2048); offs[j] = j * 2048; lens[j] = f.length; }
  n.send(txfd, data, offs, lens, frames.length, res);
}

/** Calls onFrame(Buffer) for every frame received during ms. */
function receive(ms, onFrame) {
  const end = Date.now() + ms;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) break;
    // 64 bytes of headroom before each frame: the addon puts a stripped VLAN tag back there.
    for (let j = 0; j < 64; j++) offs[j] = 64 + j * 2048;
    const k = n.recv(rxfd, data, offs, lens, 63, 1984);
    for (let j = 0; j < k; j++) onFrame(Buffer.from(data.subarray(offs[j], offs[j] + lens[j])));
    if (k <= 0) n.poll(fds, 1, Math.min(left, 50), rev);
  }
}

if (mode === 'probe') {
  const [vlanS, mac, ip, target] = a;
  const vlan = Number(vlanS);
  const out = { arp: [], echo: [] };
  let echoed = false;
  send([arpRequest(vlan, mac, ip, target)]);
  receive(1000, (f) => {
    const { vlan: v, type, l3 } = parse(f);
    if (macStr(f, 0) !== mac) return;
    if (type === 0x0806 && f.readUInt16BE(l3 + 6) === 2 && ipStr(f, l3 + 14) === target && ipStr(f, l3 + 24) === ip) {
      const replier = macStr(f, l3 + 8);
      out.arp.push({ vlan: v, mac: replier });
      if (!echoed) { echoed = true; send([1, 2, 3].map((s) => echoRequest(vlan, mac, ip, replier, target, s))); }
    } else if (type === 0x0800 && f[l3 + 9] === 1 && f[l3 + 20] === 0 && ipStr(f, l3 + 12) === target) {
      out.echo.push({ vlan: v, mac: macStr(f, 6) });
    }
  });
  process.stdout.write(JSON.stringify(out) + '\n');
} else if (mode === 'capture') {
  const ms = Number(a[0]);
  const frames = [];
  process.stdout.write('ready\n');
  receive(ms, (f) => {
    const { vlan, type, l3 } = parse(f);
    const r = { vlan, src: macStr(f, 6), dst: macStr(f, 0), type };
    if (type === 0x0806) r.arp_tpa = ipStr(f, l3 + 24);
    frames.push(r);
  });
  process.stdout.write(JSON.stringify({ frames }) + '\n');
} else {
  process.stderr.write('usage: vlan-raw.mjs probe IF VLAN MAC IP TARGET_IP | capture IF MS\n');
  process.exit(2);
}
n.close(rxfd);
n.close(txfd);
