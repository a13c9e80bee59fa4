import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../../scripts/cli-support/errors.js';
import { Output, Progress, type CliIo } from '../../scripts/cli-support/output.js';
import { toSarif, type AuditFinding } from '../../scripts/commands/audit.js';

function io(tty: boolean, env: NodeJS.ProcessEnv = {}): { io: CliIo; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const stdout = Object.assign(new PassThrough(), { isTTY: tty });
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { io: { stdout, stderr, stdin: Readable.from([]), env }, stdout: () => out, stderr: () => err };
}

describe('Output', () => {
  describe('when stdout is a terminal', () => {
    it('paints, unless NO_COLOR is set or --json', () => {
      expect(new Output(io(true).io, false).paint('red', 'x')).toBe('\u001b[31mx\u001b[0m');
      expect(new Output(io(true, { NO_COLOR: '1' }).io, false).paint('red', 'x')).toBe('x');
      expect(new Output(io(true).io, true).paint('red', 'x')).toBe('x');
    });

    it('draws a progress bar on stderr for many items only', () => {
      const t = io(true);
      const out = new Output(t.io, false);
      const many = new Progress(out, 12, 'auditing');
      for (let i = 0; i < 12; i++) many.tick();
      many.end();
      expect(t.stderr()).toMatch(/auditing \[#+\] 12\/12/);
      const f = io(true);
      const few = new Progress(new Output(f.io, false), 3, 'auditing');
      few.tick();
      expect(f.stderr()).toBe('');
    });
  });

  describe('when stdout is a pipe', () => {
    it('never paints and never draws progress', () => {
      const t = io(false);
      const out = new Output(t.io, false);
      expect(out.paint('green', 'ok')).toBe('ok');
      const p = new Progress(out, 100, 'auditing');
      p.tick();
      expect(t.stderr()).toBe('');
    });

    it('writes aligned tables for people and nothing but the result in --json mode', () => {
      const human = io(false);
      new Output(human.io, false).table(['A', 'LONGER'], [['xxxx', 'y']]);
      expect(human.stdout()).toBe('A     LONGER\nxxxx  y\n');
      const machine = io(false);
      const out = new Output(machine.io, true);
      out.table(['A'], [['x']]);
      out.line('ignored');
      out.result({ ok: true });
      expect(JSON.parse(machine.stdout())).toEqual({ ok: true });
    });
  });
});

describe('CliError', () => {
  it.each([
    ['USAGE', EXIT.ERROR],
    ['OPERATIONAL', EXIT.ERROR],
    ['REFUSED', EXIT.FINDINGS],
  ] as const)('%s exits %i', (code, exit) => {
    expect(new CliError(code, 'm').exitCode).toBe(exit);
  });
});

describe('toSarif', () => {
  it('is a SARIF 2.1.0 log with one rule per code and one result per finding', () => {
    const findings: AuditFinding[] = [
      { toolId: 'com.acme/a', pinnedVersion: '1.0.0', code: 'REVOKED', level: 'error', message: 'revoked' },
      { toolId: 'com.acme/b', pinnedVersion: '1.0.0', code: 'NEW_VERSION', level: 'note', message: 'newer', latestVersion: '1.1.0' },
      { toolId: 'com.acme/c', pinnedVersion: '2.0.0', code: 'REVOKED', level: 'error', message: 'revoked' },
    ];
    const log = toSarif(findings, 'etdi.lock.json') as { version: string; runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; level: string; locations: unknown[] }[] }[] };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.tool.driver.rules.map((r) => r.id)).toEqual(['NEW_VERSION', 'REVOKED']);
    expect(log.runs[0]!.results.map((r) => [r.ruleId, r.level])).toEqual([
      ['REVOKED', 'error'],
      ['NEW_VERSION', 'note'],
      ['REVOKED', 'error'],
    ]);
    expect(log.runs[0]!.results[0]!.locations).toEqual([
      { physicalLocation: { artifactLocation: { uri: 'etdi.lock.json' } }, logicalLocations: [{ fullyQualifiedName: 'com.acme/a', kind: 'module' }] },
    ]);
  });
});
