/**
 * The MongoDB wire protocol, as much of it as the official driver uses: a TCP stream cut into messages, OP_QUERY
 * (only for the driver's legacy `isMaster` handshake) and OP_MSG (everything after) decoded into one command
 * document, and replies encoded in the opcode the request came in.
 */
import { BSON, type Document } from 'bson';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const MSG_CHECKSUM_PRESENT = 1;
const MSG_MORE_TO_COME = 2;
/** Bytes of a message header: messageLength, requestID, responseTo, opCode. */
const HEADER_BYTES = 16;

/** Largest message we accept; the driver never sends more than `maxMessageSizeBytes` (announced by `hello`). */
export const MAX_MESSAGE = 48_000_000;

/** One command as it arrived: its database and its body (document sequences merged in). */
export interface WireRequest {
  readonly requestId: number;
  /** The opcode to answer in (OP_QUERY is answered with OP_REPLY). */
  readonly opCode: number;
  readonly db: string;
  readonly body: Document;
  /** The client set moreToCome: an unacknowledged write, answered with nothing. */
  readonly noReply: boolean;
}

/**
 * Cuts a TCP stream into whole messages, in whatever chunks they arrive. `push` returns the messages completed;
 * it throws on a length no message can have (the connection is then dropped, as mongod does).
 */
export class MessageReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const messages: Buffer[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readInt32LE(0);
      if (length < HEADER_BYTES || length > MAX_MESSAGE) throw new Error(`message length ${length} out of range`);
      if (this.buffered.length < length) break;
      messages.push(this.buffered.subarray(0, length));
      this.buffered = this.buffered.subarray(length);
    }
    return messages;
  }
}

/** Decodes one whole message; throws on an opcode or section it does not know. */
export function decodeRequest(message: Buffer): WireRequest {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_QUERY) {
    // flags(4) fullCollectionName(cstring) numberToSkip(4) numberToReturn(4) query(doc)
    let at = 20;
    const nameEnd = message.indexOf(0, at);
    const ns = message.toString('utf8', at, nameEnd);
    at = nameEnd + 1 + 8;
    const size = message.readInt32LE(at);
    const body = BSON.deserialize(message.subarray(at, at + size));
    return { requestId, opCode, db: ns.split('.')[0] ?? 'admin', body, noReply: false };
  }
  if (opCode !== OP_MSG) throw new Error(`unsupported opCode ${opCode}`);
  const flags = message.readUInt32LE(16);
  const end = message.length - (flags & MSG_CHECKSUM_PRESENT ? 4 : 0);
  let at = 20;
  let body: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (at < end) {
    const kind = message[at++];
    const size = message.readInt32LE(at);
    if (kind === 0) {
      body = BSON.deserialize(message.subarray(at, at + size));
      at += size;
    } else if (kind === 1) {
      const sectionEnd = at + size;
      const idEnd = message.indexOf(0, at + 4);
      const identifier = message.toString('utf8', at + 4, idEnd);
      const docs: Document[] = [];
      for (let p = idEnd + 1; p < sectionEnd; ) {
        const docSize = message.readInt32LE(p);
        docs.push(BSON.deserialize(message.subarray(p, p + docSize)));
        p += docSize;
      }
      sequences.push([identifier, docs]);
      at = sectionEnd;
    } else throw new Error(`unknown OP_MSG section kind ${kind}`);
  }
  if (!body) throw new Error('OP_MSG without a body');
  for (const [identifier, docs] of sequences) body[identifier] = docs;
  return { requestId, opCode, db: typeof body.$db === 'string' ? body.$db : 'admin', body, noReply: (flags & MSG_MORE_TO_COME) !== 0 };
}

/** The reply to `request`: one document, as OP_REPLY to an OP_QUERY and as OP_MSG to an OP_MSG. */
export function encodeReply(request: WireRequest, doc: Document): Buffer {
  const bson = BSON.serialize(doc);
  const bytes = Buffer.from(bson.buffer, bson.byteOffset, bson.length);
  const opCode = request.opCode === OP_QUERY ? OP_REPLY : OP_MSG;
  let payload: Buffer;
  if (opCode === OP_REPLY) {
    payload = Buffer.alloc(20);
    payload.writeInt32LE(0, 0); // responseFlags
    payload.writeBigInt64LE(0n, 4); // cursorID
    payload.writeInt32LE(0, 12); // startingFrom
    payload.writeInt32LE(1, 16); // numberReturned
  } else {
    // flagBits(4), then one body section (kind 0).
    payload = Buffer.alloc(5);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeInt32LE(HEADER_BYTES + payload.length + bytes.length, 0);
  header.writeInt32LE(0, 4);
  header.writeInt32LE(request.requestId, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, payload, bytes]);
}
