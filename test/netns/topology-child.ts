// Child process for topology.test.ts: brings hosts up (not persistent), prints "up", then waits to
// be signalled / killed, or (mode "throw") dies of an uncaught exception.
import { up } from '../../tools/netns/topology.js';

const [prefix, mode] = process.argv.slice(2);
up({ hosts: 2, prefix: prefix! });
process.stdout.write('up\n');
if (mode === 'throw') setTimeout(() => { throw new Error('boom (expected by the test)'); }, 10);
else setInterval(() => {}, 1000);
