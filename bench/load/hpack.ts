/**
 * The little of HPACK (RFC 7541) the bench's raw gRPC client needs: encoding a
 * request's header block, and reading `:status` and `grpc-status` out of an
 * answer's. The client announces a header table of size 0, so the server never
 * refers to a dynamic table entry; strings the server Huffman-codes are
 * compared in coded form rather than decoded.
 */

// RFC 7541 Appendix A: the static table indices whose names requests use, and
// the `:status` entries (index -> value).
const staticName: Record<string, number> = {
  ":authority": 1,
  ":method": 2,
  ":path": 4,
  ":scheme": 6,
  authorization: 23,
  "content-type": 31,
};
const staticFull: Record<string, number> = { ":method POST": 3, ":scheme http": 6 };
const statusIndex: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

// RFC 7541 Appendix B: the codes of the characters of "grpc-status" and of the
// ten digits, as [bits, length]; the rest of the table is never needed here.
const huffman: Record<string, [number, number]> = {
  "-": [0b010110, 6], a: [0b00011, 5], c: [0b00100, 5], g: [0b100110, 6], p: [0b101011, 6],
  r: [0b101100, 6], s: [0b01000, 5], t: [0b01001, 5], u: [0b101101, 6],
  "0": [0b00000, 5], "1": [0b00001, 5], "2": [0b00010, 5], "3": [0b011001, 6], "4": [0b011010, 6],
  "5": [0b011011, 6], "6": [0b011100, 6], "7": [0b011101, 6], "8": [0b011110, 6], "9": [0b011111, 6],
};

/** Huffman-codes `text` (only characters of the partial table above), padded with ones as the RFC says. */
export function huffmanEncode(text: string): Buffer {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const code = huffman[ch];
    if (!code) throw new Error(`hpack: no Huffman code for ${JSON.stringify(ch)} in the partial table`);
    acc = (acc << code[1]) | code[0];
    bits += code[1];
    while (bits >= 8) {
      out.push((acc >> (bits - 8)) & 0xff);
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(out);
}

const digitByCode = new Map<string, string>();
for (let d = 0; d <= 9; d++) {
  const [code, length] = huffman[String(d)]!;
  digitByCode.set(`${length}:${code}`, String(d));
}

// A Huffman-coded string of digits, or undefined when it holds anything else.
function huffmanDigits(bytes: Buffer): string | undefined {
  let text = "";
  let acc = 0;
  let length = 0;
  for (let i = 0; i < bytes.length * 8; i++) {
    acc = (acc << 1) | ((bytes[i >> 3]! >> (7 - (i & 7))) & 1);
    length++;
    const digit = digitByCode.get(`${length}:${acc}`);
    if (digit !== undefined) {
      text += digit;
      acc = 0;
      length = 0;
    } else if (length > 6) {
      return undefined;
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones.
  return length < 8 && acc === (1 << length) - 1 ? text : undefined;
}

const grpcStatusPlain = Buffer.from("grpc-status", "latin1");
const grpcStatusHuffman = huffmanEncode("grpc-status");

/** RFC 7541 5.1: `value` as an integer with an N-bit prefix, the first byte's high bits set to `flags`. */
function pushInteger(out: number[], value: number, prefixBits: number, flags: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

function pushString(out: number[], text: string): void {
  const bytes = Buffer.from(text, "latin1");
  pushInteger(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/**
 * A request header block: static-table entries where one matches whole, else
 * literals without indexing (names from the static table where it has them),
 * never Huffman-coded. Header names must be lower case.
 */
export function encodeHeaderBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    const full = staticFull[`${name} ${value}`];
    if (full !== undefined) {
      pushInteger(out, full, 7, 0x80);
      continue;
    }
    const index = staticName[name];
    if (index !== undefined) {
      pushInteger(out, index, 4, 0x00);
    } else {
      out.push(0x00);
      pushString(out, name);
    }
    pushString(out, value);
  }
  return Buffer.from(out);
}

/** What an answer's header block says about the call. */
export interface StatusHeaders {
  /** `:status`, when the block has it (response headers; trailers do not). */
  status?: number;
  /** `grpc-status` as sent (`"0"` is OK), when the block has it. */
  grpcStatus?: string;
}

// RFC 7541 5.1, reading: [value, offset after it].
function readInteger(block: Buffer, at: number, prefixBits: number): [number, number] {
  const max = (1 << prefixBits) - 1;
  let value = block[at]! & max;
  at++;
  if (value < max) return [value, at];
  let shift = 0;
  for (;;) {
    if (at >= block.length) throw new Error("hpack: integer runs past the block");
    const b = block[at++]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [value, at];
  }
}

// A string literal: [huffman-coded?, bytes, offset after it].
function readString(block: Buffer, at: number): [boolean, Buffer, number] {
  const huffmanCoded = (block[at]! & 0x80) !== 0;
  const [length, start] = readInteger(block, at, 7);
  if (start + length > block.length) throw new Error("hpack: string runs past the block");
  return [huffmanCoded, block.subarray(start, start + length), start + length];
}

/**
 * Reads `:status` and `grpc-status` from a header block sent under a header
 * table of size 0. Throws on a malformed block or a reference to a dynamic
 * table entry (which a server honouring that setting never sends).
 */
export function readStatusHeaders(block: Buffer): StatusHeaders {
  const found: StatusHeaders = {};
  let at = 0;
  while (at < block.length) {
    const first = block[at]!;
    if (first & 0x80) {
      // Indexed header field.
      const [index, next] = readInteger(block, at, 7);
      if (index === 0 || index > 61) throw new Error(`hpack: index ${index} outside the static table`);
      if (statusIndex[index] !== undefined) found.status = statusIndex[index];
      at = next;
      continue;
    }
    if ((first & 0xe0) === 0x20) {
      // Dynamic table size update (to 0, after the client's setting).
      at = readInteger(block, at, 5)[1];
      continue;
    }
    // A literal: with incremental indexing (01), without (0000) or never indexed (0001).
    const [nameIndex, afterIndex] = readInteger(block, at, (first & 0xc0) === 0x40 ? 6 : 4);
    if (nameIndex > 61) throw new Error(`hpack: name index ${nameIndex} outside the static table`);
    at = afterIndex;
    let isGrpcStatus = false;
    if (nameIndex === 0) {
      const [coded, name, next] = readString(block, at);
      isGrpcStatus = name.equals(coded ? grpcStatusHuffman : grpcStatusPlain);
      at = next;
    }
    const [coded, value, next] = readString(block, at);
    at = next;
    const text = coded ? huffmanDigits(value) ?? "?" : value.toString("latin1");
    if (isGrpcStatus) found.grpcStatus = text;
    else if (nameIndex >= 8 && nameIndex <= 14) found.status = Number(text);
  }
  return found;
}
