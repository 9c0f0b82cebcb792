import fc from "fast-check";

/**
 * Byte-level mutations of an encoding: bit flips, overwritten bytes, cuts,
 * insertions and appended junk, one to `maxEdits` of them.
 */
export function mutatedBytes(base: fc.Arbitrary<Uint8Array>, maxEdits = 4): fc.Arbitrary<Uint8Array> {
  const edit = fc.tuple(fc.constantFrom("flip", "cut", "insert", "append", "set"), fc.nat(), fc.integer({ min: 0, max: 255 }));
  return fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: maxEdits })).map(([bytes, edits]) => {
    let b = Buffer.from(bytes);
    for (const [op, at, value] of edits) {
      const i = b.length === 0 ? 0 : at % b.length;
      if (op === "flip" && b.length > 0) b[i] = b[i]! ^ (1 << (value % 8));
      else if (op === "set" && b.length > 0) b[i] = value;
      else if (op === "cut") b = b.subarray(0, i);
      else if (op === "insert") b = Buffer.concat([b.subarray(0, i), Buffer.from([value]), b.subarray(i)]);
      else b = Buffer.concat([b, Buffer.from([value, value ^ 0x5a, 0x01])]);
    }
    return new Uint8Array(b);
  });
}
