import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * A real, tiny authoritative DNS server on 127.0.0.1 UDP for tests: it answers TXT questions
 * from `zone` (name -> records, each record a list of character-strings of at most 255 bytes),
 * NXDOMAIN for names it does not hold, and raw `garbage` bytes for the names listed there (a
 * broken server). RFC 1035 4.1 wire format, written out by hand: header, the question echoed as
 * received, one answer per record with a compression pointer to the question's name.
 */
export interface DnsTxtServer {
  /** `127.0.0.1:<port>`, what config.dnsProofServers takes. */
  address: string;
  zone: Map<string, string[][]>;
  garbage: Set<string>;
  /** Questions received, `name` lower-cased. */
  asked: string[];
  close(): Promise<void>;
}

const TYPE_TXT = 16;
const CLASS_IN = 1;

/** The question's end offset and its name (labels joined by dots), or null when malformed. */
function readQuestion(query: Buffer): { name: string; end: number; type: number } | null {
  let at = 12;
  const labels: string[] = [];
  while (at < query.length) {
    const length = query[at]!;
    if (length === 0) break;
    if (length > 63) return null; // no compression in a question we accept
    labels.push(query.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  if (at + 5 > query.length) return null;
  return { name: labels.join('.').toLowerCase(), type: query.readUInt16BE(at + 1), end: at + 5 };
}

function answer(query: Buffer, records: string[][] | undefined, question: { end: number; type: number }): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // the query's id
  const rcode = records === undefined ? 3 : 0; // NXDOMAIN for a name we do not hold
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | rcode, 2); // QR, AA, RD echoed
  header.writeUInt16BE(1, 4);
  const answers = question.type === TYPE_TXT ? (records ?? []) : [];
  header.writeUInt16BE(answers.length, 6);
  const parts = [header, query.subarray(12, question.end)];
  for (const record of answers) {
    const rdata = Buffer.concat(record.map((s) => Buffer.concat([Buffer.from([Buffer.byteLength(s, 'latin1')]), Buffer.from(s, 'latin1')])));
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(TYPE_TXT, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    parts.push(rr, rdata);
  }
  return Buffer.concat(parts);
}

export async function startDnsTxtServer(): Promise<DnsTxtServer> {
  const socket: Socket = createSocket('udp4');
  const server: Omit<DnsTxtServer, 'address'> = {
    zone: new Map(),
    garbage: new Set(),
    asked: [],
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (query, peer) => {
    if (query.length < 12) return;
    const question = readQuestion(query);
    if (question === null) return;
    server.asked.push(question.name);
    const reply = server.garbage.has(question.name)
      ? Buffer.concat([query.subarray(0, 2), Buffer.from([0x84, 0x00, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0xfd])])
      : answer(query, server.zone.get(question.name), question);
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { ...server, address: `127.0.0.1:${(socket.address() as AddressInfo).port}` };
}
