/**
 * The floor of any stdio MCP proxy: one more process that forwards bytes both ways and checks
 * nothing. `node stdio-relay.js <command...>` runs the command and pipes stdin to it and its
 * stdout back; its stderr passes through. bench/proxy.bench.ts compares `etdi proxy` with it.
 */
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (command === undefined) throw new Error('usage: stdio-relay <command...>');
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
process.stdin.on('end', () => child.stdin.end());
child.on('exit', (code) => process.exit(code ?? 0));
