import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
