import type { Response } from 'express';
import type { Problem } from '@etdi/schemas';
import type { EtdiError } from '@etdi/protocol';
import { RegistryError } from '../errors.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The problem type URI of a code (RFC 9457 section 3.1.1); documented in docs/REST-API.md. */
export const problemType = (code: string): string => `urn:etdi:problem:${code.toLowerCase().replace(/_/g, '-')}`;

/** The one problem-document writer: every error the registry answers with goes through it. */
export function toProblem(error: EtdiError, instance?: string): Problem {
  const problem: Problem = {
    ...error.evidence,
    type: problemType(error.code),
    title: TITLES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    code: error.code,
  };
  if (instance !== undefined) problem.instance = instance;
  if (error instanceof RegistryError && error.errors.length > 0) problem.errors = [...error.errors];
  return problem;
}

export function sendProblem(res: Response, error: EtdiError, instance?: string): void {
  res.locals.code = error.code;
  const body = JSON.stringify(toProblem(error, instance));
  const headers: Record<string, string | number> = {
    ...(error instanceof RegistryError ? error.headers : {}),
    'Content-Type': 'application/problem+json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  };
  if (res.headersSent) return void res.end();
  res.writeHead(error.status, headers).end(body);
}
