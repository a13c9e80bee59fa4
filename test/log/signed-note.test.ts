import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ProtocolError,
  decodeNote,
  formatCheckpoint,
  formatVerifierKey,
  fromBase64,
  generateKeyPair,
  nobleBackend,
  noteKeyId,
  parseCheckpoint,
  parseVerifierKey,
  privateKeySeed,
  publicKeyOf,
  signNote,
  toHex,
  utf8,
  verifyNote,
  webCryptoBackend,
} from '../../protocol/index.js';
import { protocolCode } from './helpers.js';

const DIR = join(import.meta.dirname, '../fixtures/merkle/signed-note');
const go = JSON.parse(readFileSync(join(DIR, 'go-sumdb-note.json'), 'utf8')) as {
  verifierKey: string;
  signerKey: string;
  text: string;
  note: string;
  otherVerifierKey: string;
  otherSignatureLine: string;
};
const quasimodo = readFileSync(join(DIR, 'c2sp-quasimodo.note'), 'utf8');
// PRIVATE+KEY+<name>+<hex id>+base64(0x01 || seed)
const goSeed = fromBase64(go.signerKey.split('+').slice(4).join('+')).slice(1);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).code;
  }
  return 'NO ERROR';
}

describe('signed note', () => {
  describe('when reading the C2SP specification example', () => {
    it('decodes it and finds the key id of the spec rule SHA-256(name || 0x0A || 0x01 || key)[:4] in the signature', () => {
      const decoded = decodeNote(quasimodo);
      expect(decoded.text).toBe('Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n');
      expect(decoded.signatures).toHaveLength(1);
      expect(decoded.signatures[0]!.name).toBe('quasimodo.example/salvatore');
      expect(toHex(decoded.signatures[0]!.keyId)).toBe('367ba04b');
      expect(decoded.signatures[0]!.signature).toHaveLength(64);
    });

    // The spec does not publish the example's public key, so it cannot verify here; what can be
    // checked is that no key we hold is taken for its signer.
    it('refuses it with a key of the same name (unknown key id)', async () => {
      const { privateJwk } = generateKeyPair();
      const vkey = formatVerifierKey('quasimodo.example/salvatore', publicKeyOf(privateKeySeed(privateJwk)));
      expect(await codeOf(verifyNote(quasimodo, [vkey]))).toBe('UNKNOWN_SIGNER');
    });
  });

  describe('when verifying the golang.org/x/mod/sumdb/note vector', () => {
    it('verifies and returns the text', async () => {
      const verified = await verifyNote(go.note, [go.verifierKey]);
      expect(verified.text).toBe(go.text);
      expect(verified.verifiedBy.map((k) => k.name)).toEqual(['PeterNeumann']);
    });

    it('reproduces the signature byte for byte (Ed25519 is deterministic)', async () => {
      expect(await signNote(go.text, { name: 'PeterNeumann', seed: goSeed })).toBe(go.note);
      expect(formatVerifierKey('PeterNeumann', publicKeyOf(goSeed))).toBe(go.verifierKey);
    });

    it.each([
      ['node', undefined],
      ['noble', nobleBackend],
      ['webcrypto', webCryptoBackend],
    ])('verifies with the %s backend', async (_name, backend) => {
      await expect(verifyNote(go.note, [go.verifierKey], backend ? { backend } : {})).resolves.toBeTruthy();
    });

    it('ignores a signature by an unknown key next to a trusted one, and checks both when both are trusted', async () => {
      const both = go.note + go.otherSignatureLine;
      expect((await verifyNote(both, [go.verifierKey])).verifiedBy.map((k) => k.name)).toEqual(['PeterNeumann']);
      expect((await verifyNote(both, [go.verifierKey, go.otherVerifierKey])).verifiedBy).toHaveLength(2);
      const forged = go.note + go.otherSignatureLine.replace('rwz+eBzm', 'rwz+eBzn');
      expect(await codeOf(verifyNote(forged, [go.verifierKey, go.otherVerifierKey]))).toBe('BAD_SIGNATURE');
    });

    const sigStart = go.note.indexOf('\u2014');
    it.each([
      ['a changed text byte', go.note.replace('cryptography', 'cryptographY'), 'BAD_SIGNATURE'],
      ['a changed signature byte', go.note.slice(0, -10) + (go.note.at(-10) === 'A' ? 'B' : 'A') + go.note.slice(-9), 'BAD_SIGNATURE'],
      ['a wrong key id', go.note.replace('x08go', 'x08gp'), 'UNKNOWN_SIGNER'],
      ['another key name', go.note.replace('PeterNeumann', 'PeterNeumanm'), 'UNKNOWN_SIGNER'],
      ['no signature line', go.text + '\n', 'MALFORMED_NOTE'],
      ['no blank line', go.text + go.note.slice(sigStart), 'MALFORMED_NOTE'],
      ['a missing final newline', go.note.slice(0, -1), 'MALFORMED_NOTE'],
      ['a hyphen for the em dash', go.note.replace('\u2014', '-'), 'MALFORMED_NOTE'],
      ['a control character', '\u0001' + go.note, 'MALFORMED_NOTE'],
      ['a lone surrogate', '\ud800' + go.note, 'MALFORMED_NOTE'],
      ['a name with a space', go.note.replace('PeterNeumann', 'Peter Neumann'), 'MALFORMED_NOTE'],
      ['non-canonical base64', go.note.replace('AM=\n', 'AN=\n'), 'MALFORMED_NOTE'],
      ['an unexpected trailing line', go.note + 'Unexpected line.\n', 'MALFORMED_NOTE'],
      ['101 signatures', go.text + '\n' + go.note.slice(sigStart).repeat(101), 'MALFORMED_NOTE'],
    ])('refuses %s', async (_attack, note, code) => {
      expect(await codeOf(verifyNote(note, [go.verifierKey]))).toBe(code);
    });

    it('refuses a note when no trusted key is given', async () => {
      expect(await codeOf(verifyNote(go.note, []))).toBe('UNKNOWN_SIGNER');
    });
  });

  describe('when changing any single byte of a note', () => {
    it('never verifies (exhaustive over every UTF-16 unit)', async () => {
      for (let i = 0; i < go.note.length; i++) {
        const c = go.note.charCodeAt(i);
        const mutated = go.note.slice(0, i) + String.fromCharCode(c === 0x41 ? 0x42 : c ^ 1) + go.note.slice(i + 1);
        const code = await codeOf(verifyNote(mutated, [go.verifierKey]));
        expect(code, `position ${i}`).not.toBe('NO ERROR');
      }
    });
  });

  describe('when parsing verifier keys', () => {
    it('accepts the Go vector keys', () => {
      const k = parseVerifierKey(go.verifierKey);
      expect(k.name).toBe('PeterNeumann');
      expect(toHex(k.keyId)).toBe('c74f20a3');
      expect(noteKeyId(k.name, k.publicKey)).toEqual(k.keyId);
      expect(parseVerifierKey(go.otherVerifierKey).name).toBe('EnochRoot');
    });

    it('refuses every substring and every byte-incremented copy (as Go TestNewVerifier)', () => {
      const v = go.verifierKey;
      for (let i = 0; i <= v.length; i++)
        for (let j = i + 1; j <= v.length; j++) {
          if (i === 0 && j === v.length) continue;
          expect(protocolCode(() => parseVerifierKey(v.slice(i, j))), v.slice(i, j)).toBe('INVALID_KEY');
        }
      for (let i = 0; i < v.length; i++) {
        const m = v.slice(0, i) + String.fromCharCode(v.charCodeAt(i) + 1) + v.slice(i + 1);
        expect(protocolCode(() => parseVerifierKey(m)), m).toBe('INVALID_KEY');
      }
    });

    it.each([
      ['a wrong-length key with adjusted id', 'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='],
      ['an unknown algorithm with adjusted id', 'PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
      ['upper-case hex', 'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ])('refuses %s', (_attack, vkey) => {
      expect(protocolCode(() => parseVerifierKey(vkey))).toBe('INVALID_KEY');
    });
  });

  describe('when signing and verifying round trips', () => {
    it('verifies what it signs and refuses it under another key (property)', async () => {
      const a = generateKeyPair();
      const b = generateKeyPair();
      const seedA = privateKeySeed(a.privateJwk);
      const vkeyA = formatVerifierKey('log.example/a', publicKeyOf(seedA));
      const vkeyB = formatVerifierKey('log.example/a', publicKeyOf(privateKeySeed(b.privateJwk)));
      const line = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s));
      await fc.assert(
        fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 5 }), async (lines) => {
          const text = lines.join('\n') + '\n';
          const note = await signNote(text, { name: 'log.example/a', seed: seedA });
          expect((await verifyNote(note, [vkeyA])).text).toBe(text);
          expect(await codeOf(verifyNote(note, [vkeyB]))).toBe('UNKNOWN_SIGNER'); // same name, other id
          expect(utf8(note).length).toBeGreaterThan(utf8(text).length);
        }),
        { numRuns: 50 },
      );
    });
  });
});

describe('checkpoint', () => {
  const root = new Uint8Array(32).fill(7);

  it('formats and parses the C2SP tlog-checkpoint example body', () => {
    const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const cp = parseCheckpoint(body);
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(formatCheckpoint(cp)).toBe(body);
  });

  it('round-trips with extension lines (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (size, rootHash) => {
        const cp = { origin: 'log.example', size, rootHash, extensions: ['ext one'] };
        expect(parseCheckpoint(formatCheckpoint(cp))).toEqual(cp);
      }),
    );
  });

  const b64 = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=';
  it.each([
    ['a leading zero in the size', `o\n01\n${b64}\n`],
    ['a negative size', `o\n-1\n${b64}\n`],
    ['a size beyond 2^53', `o\n9007199254740993\n${b64}\n`],
    ['a short root hash', 'o\n1\nBwcH\n'],
    ['a missing root line', 'o\n1\n'],
    ['an empty origin', `\n1\n${b64}\n`],
    ['an empty extension line', `o\n1\n${b64}\n\n`],
    ['no final newline', `o\n1\n${b64}`],
    ['a foreign origin', `other\n1\n${b64}\n`],
  ])('refuses %s', (_attack, text) => {
    expect(protocolCode(() => parseCheckpoint(text, 'o'))).toBe('MALFORMED_CHECKPOINT');
  });

  it('accepts a checkpoint whose origin matches', () => {
    expect(parseCheckpoint(formatCheckpoint({ origin: 'o', size: 1, rootHash: root }), 'o').rootHash).toEqual(root);
  });
});
