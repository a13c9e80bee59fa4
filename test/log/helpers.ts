import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { ProtocolError, generateKeyPair, jwkThumbprint, sha256, toHex, utf8 } from '../../protocol/index.js';
import type { LogEvent } from '../../schemas/index.js';
import { TransparencyLog, toLeafData } from '../../registry/log/index.js';
import { SqliteStore } from '../../registry/store/sqlite/sqlite-store.js';

export const ORIGIN = 'registry.test/log';

/** A temp directory removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'etdi-log-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A registry store on a SQLite file and the log kept in it (its key made on the first open). */
export async function openLog(file: string, origin = ORIGIN): Promise<{ store: SqliteStore; log: TransparencyLog }> {
  const store = SqliteStore.open({ path: file });
  return { store, log: await TransparencyLog.open(store, { origin }) };
}

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

/** Appends leaves in one transaction and signs its checkpoint, the way the registry batches them. */
export function appendAll(store: SqliteStore, log: TransparencyLog, leaves: Uint8Array[]): Promise<number[]> {
  return store.transaction(async (tx) => {
    const indexes: number[] = [];
    for (const leaf of leaves) indexes.push(await log.append(tx, leaf));
    await log.signCheckpoint(tx);
    return indexes;
  });
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

/**
 * Runs raw SQL on the SQLite file through its own better-sqlite3 connection, the way a disk
 * fault, an operator or an attacker changes the database behind the registry's back. WAL mode:
 * an open store's read connection sees the change at its next read.
 */
export function tamper(file: string, sql: string, ...params: unknown[]): void {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

/**
 * Opens a second store at `file` that holds the same log key and origin as `of`: the same log
 * identity in another database, so what grows there is a fork of `of`'s log, not another log.
 */
export async function openFork(file: string, of: SqliteStore, origin = ORIGIN): Promise<{ store: SqliteStore; log: TransparencyLog }> {
  const store = SqliteStore.open({ path: file });
  const [key] = await of.registryKeys('log');
  if (key === undefined) throw new Error('the store has no log key: open its log first');
  await store.transaction((tx) => tx.insertRegistryKey({ kid: key.kid, purpose: 'log', private_jwk: key.private_jwk, created_at: key.created_at }));
  return { store, log: await TransparencyLog.open(store, { origin }) };
}
