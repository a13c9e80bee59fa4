import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { ProtocolError, generateKeyPair, jwkThumbprint, sha256, toHex, utf8 } from '../../protocol/index.js';
import type { Ed25519PrivateJwk, LogEvent } from '../../schemas/index.js';
import { TransparencyLog, toLeafData } from '../../registry/log/index.js';

export const ORIGIN = 'registry.test/log';

/** A temp directory removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'etdi-log-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  return db;
}

export function openLog(db: Database.Database, key: Ed25519PrivateJwk, origin = ORIGIN): TransparencyLog {
  return TransparencyLog.open(db, { origin, signingKey: key, keyName: origin });
}

export const logKey = (): Ed25519PrivateJwk => generateKeyPair().privateJwk;

/** A real registry event: version `1.0.<i>` of a tool published. */
export function publishEvent(i: number, tag = 'a'): LogEvent {
  const { publicJwk } = generateKeyPair();
  return {
    type: 'etdi.log-event/v1',
    kind: 'version.published',
    at: '2025-01-01T00:00:00Z',
    actor: `key:${jwkThumbprint(publicJwk)}`,
    namespace: 'com.acme',
    toolId: `com.acme/tool-${tag}`,
    version: `1.0.${i}`,
    manifestDigest: `sha256:${toHex(sha256(utf8(`m${tag}${i}`)))}`,
    definitionDigest: `sha256:${toHex(sha256(utf8(`d${tag}${i}`)))}`,
    signerKeyId: jwkThumbprint(publicJwk),
  };
}

/** Appends leaves in one transaction, the way the registry batches them. */
export function appendAll(db: Database.Database, log: TransparencyLog, leaves: Uint8Array[]): number[] {
  return db.transaction(() => leaves.map((l) => log.append(l)))();
}

export const eventLeaf = (i: number, tag = 'a'): Uint8Array => toLeafData(publishEvent(i, tag));

/** The ProtocolError code `fn` throws ('NO ERROR' when it does not), asserting the error class. */
export function protocolCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).code;
  }
  return 'NO ERROR';
}
