/**
 * One error vocabulary (issue 16): every code of every error class is a row of the one table,
 * with one HTTP status and one kind, and the kind decides the exit code everywhere.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ERROR_CODES, EXIT_CODES, EtdiError, ProtocolError, type ErrorCode, type ProtocolErrorCode } from '../../protocol/index.js';
import { VerificationError, type VerificationErrorCode } from '../../client-verifier/index.js';
import type { LogVerificationErrorCode } from '../../client-verifier/log/errors.js';
import { RegistryError, type RegistryErrorCode } from '../../registry/errors.js';
import { LogError, type LogErrorCode } from '../../registry/log/errors.js';
import { CliError, answerError } from '../../scripts/cli-support/errors.js';

describe('the error code table', () => {
  it('holds every code of every error class (checked by the type checker)', () => {
    type ClassCodes = ProtocolErrorCode | VerificationErrorCode | LogVerificationErrorCode | RegistryErrorCode | LogErrorCode;
    expectTypeOf<Exclude<ClassCodes, ErrorCode>>().toEqualTypeOf<never>();
  });

  it.each(Object.entries(ERROR_CODES))('%s has an HTTP error status and a kind', (_code, spec) => {
    expect(spec.status).toBeGreaterThanOrEqual(400);
    expect(spec.status).toBeLessThan(600);
    expect(Object.keys(EXIT_CODES)).toContain(spec.kind);
  });

  it('gives one status per code whichever class throws it (KEY_REVOKED, NAMESPACE_MISMATCH were two each)', () => {
    expect(new RegistryError('KEY_REVOKED', 'x').status).toBe(new VerificationError('KEY_REVOKED', 'x').status);
    expect(new RegistryError('NAMESPACE_MISMATCH', 'x').status).toBe(new VerificationError('NAMESPACE_MISMATCH', 'x').status);
    expect(new RegistryError('KEY_ALREADY_REVOKED', 'x').status).toBe(409);
  });

  it('has one base class: every error the project throws on purpose is an EtdiError', () => {
    for (const error of [new ProtocolError('BAD_SIGNATURE', 'x'), new VerificationError('RUG_PULL', 'x'), new RegistryError('FORBIDDEN', 'x'), new LogError('LOG_CORRUPT', 'x'), new CliError('USAGE', 'x')])
      expect(error).toBeInstanceOf(EtdiError);
  });

  it.each([
    ['a refusal', new VerificationError('RUG_PULL', 'x'), 1],
    ['a refused publish', new RegistryError('VERSION_EXISTS', 'x'), 1],
    ['a bad flag', new CliError('USAGE', 'x'), 2],
    ['an unknown version named by the user', new RegistryError('VERSION_NOT_FOUND', 'x'), 2],
    ['an unreachable registry', new VerificationError('REGISTRY_UNAVAILABLE', 'x'), 2],
    ['an unexpected failure', new VerificationError('INTERNAL', 'x'), 2],
  ])('exits by kind: %s', (_name, error, exit) => {
    expect(error.exitCode).toBe(exit);
  });
});

describe('a registry answer as seen by the command line', () => {
  it.each([
    ['429 RATE_LIMITED', 429, { code: 'RATE_LIMITED' }, 2],
    ['503 SHUTTING_DOWN', 503, { code: 'SHUTTING_DOWN' }, 2],
    ['a 502 from a proxy with no problem document', 502, '<html>bad gateway</html>', 2],
    ['a 500 with a code of a newer registry', 500, { code: 'SOMETHING_NEW' }, 2],
    ['403 FORBIDDEN', 403, { code: 'FORBIDDEN' }, 1],
    ['409 VERSION_EXISTS', 409, { code: 'VERSION_EXISTS' }, 1],
    ['a 4xx with a code of a newer registry', 422, { code: 'SOMETHING_NEW' }, 1],
  ])('%s exits %i', (_name, status, body, exit) => {
    expect(answerError('the request', { status, body }).exitCode).toBe(exit);
  });
});
