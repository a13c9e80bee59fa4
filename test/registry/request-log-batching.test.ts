import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { batchedLines } from '../../registry/http/request-log.js';

describe('batchedLines (the default request-log writer)', () => {
  describe('when several requests finish in one event-loop turn', () => {
    it('writes their lines once, in order, right after the turn', async () => {
      const writes: string[] = [];
      const log = batchedLines((chunk) => writes.push(chunk));
      log('{"n":1}');
      log('{"n":2}');
      expect(writes).toEqual([]); // not yet: the turn is not over
      await nextTurn();
      expect(writes).toEqual(['{"n":1}\n{"n":2}\n']);
      log('{"n":3}');
      await nextTurn();
      expect(writes).toEqual(['{"n":1}\n{"n":2}\n', '{"n":3}\n']);
    });
  });
});
