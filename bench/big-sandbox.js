// A sandbox holding one large generated project, in a process of its own (as XNAT is): prints its
// URL on the first line of stdout, then serves until killed. Used by bench/run.js.
// Usage: node bench/big-sandbox.js <experiments> <project>
import { startSandbox } from '../dist/sandbox/index.js';
import { generateArchive } from '../dist/sandbox/testing.js';

const [experiments, project] = [Number(process.argv[2]), process.argv[3]];
const sandbox = await startSandbox({ archive: generateArchive({ experiments, project }) });
process.stdout.write(`${sandbox.url}\n`);
process.once('SIGTERM', () => void sandbox.close().then(() => process.exit(0)));
