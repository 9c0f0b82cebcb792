/**
 * Random binary `IngestEventsRequest`s for the wire scanner's tests, written by
 * hand with BinaryWriter so they also hold what Protobuf allows but a client
 * library never writes: duplicate keys, several kinds in one Value, missing
 * keys and values, unknown fields, byte order marks, NaN, repeated fields.
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";

export type WValue =
  | { k: "null"; n: number }
  | { k: "num"; v: number }
  | { k: "str"; v: string }
  | { k: "bool"; v: number }
  | { k: "struct"; entries: WEntry[] }
  | { k: "list"; items: WValue[] }
  | { k: "none" }
  | { k: "multi"; parts: WValue[] }
  | { k: "unknown"; inner: WValue };
export interface WEntry {
  key: string | undefined;
  values: WValue[];
}
export interface WEvent {
  type: string;
  timestamp: string;
  customEventName: string;
  eventId: string;
  customdata: WEntry[][];
}

const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 6 }) },
  { weight: 2, arbitrary: fc.constantFrom("a", "b", "0", "1", "42", "__proto__", "constructor", "\uFEFFa", "\uFEFF", "é", "\u{1F600}", "") },
);
const numberArb = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 123456789012345680000, Number.MAX_VALUE, NaN, Infinity, -Infinity, 0.1 + 0.2),
);
const stringArb = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 6 }), fc.constantFrom("\uFEFFx", "\uFEFF", "\uFEFF\uFEFF"));

const { value: valueArb } = fc.letrec<{ value: WValue; entry: WEntry }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer({ min: 0, max: 3 }).map((n): WValue => ({ k: "null", n })),
    numberArb.map((v): WValue => ({ k: "num", v })),
    stringArb.map((v): WValue => ({ k: "str", v })),
    fc.constantFrom(0, 1, 1, 2, 300).map((v): WValue => ({ k: "bool", v })),
    fc.array(tie("entry") as fc.Arbitrary<WEntry>, { maxLength: 5 }).map((entries): WValue => ({ k: "struct", entries })),
    fc.array(tie("value") as fc.Arbitrary<WValue>, { maxLength: 5 }).map((items): WValue => ({ k: "list", items })),
    fc.constant<WValue>({ k: "none" }),
    fc.array(tie("value") as fc.Arbitrary<WValue>, { minLength: 2, maxLength: 3 }).map((parts): WValue => ({ k: "multi", parts })),
    (tie("value") as fc.Arbitrary<WValue>).map((inner): WValue => ({ k: "unknown", inner })),
  ),
  entry: fc.record({
    key: fc.option(keyArb, { nil: undefined, freq: 10 }),
    values: fc.array(tie("value") as fc.Arbitrary<WValue>, { minLength: 0, maxLength: 2 }).filter((v) => v.length > 0 || Math.random() < 0.2),
  }),
}));

const entriesArb = fc.array(fc.record({ key: fc.option(keyArb, { nil: undefined, freq: 10 }), values: fc.array(valueArb, { minLength: 1, maxLength: 2 }) }), { maxLength: 6 });

export const eventArb: fc.Arbitrary<WEvent> = fc.record({
  type: fc.oneof(fc.constantFrom("AppOpen", "LevelCompleted", "GameEnd", "AdImpression", "IAPPurchase", "Custom"), stringArb),
  timestamp: fc.oneof(fc.constantFrom("2026-11-26T09:15:00Z", "2026-11-26T09:20:31.250+01:00", "\uFEFF2026-11-26T09:15:00Z", "2026-02-30T10:00:00Z"), stringArb),
  customEventName: fc.oneof(fc.constant(""), fc.constant("ChestOpened"), stringArb),
  eventId: fc.oneof(fc.constant(""), fc.uuid(), stringArb),
  customdata: fc.oneof({ weight: 1, arbitrary: fc.constant<WEntry[][]>([]) }, { weight: 5, arbitrary: entriesArb.map((e) => [e]) }, { weight: 1, arbitrary: fc.array(entriesArb, { minLength: 2, maxLength: 2 }) }),
});

function writeValue(w: BinaryWriter, v: WValue): void {
  switch (v.k) {
    case "null":
      w.tag(1, WireType.Varint).int32(v.n);
      break;
    case "num":
      w.tag(2, WireType.Bit64).double(v.v);
      break;
    case "str":
      w.tag(3, WireType.LengthDelimited).string(v.v);
      break;
    case "bool":
      w.tag(4, WireType.Varint).uint32(v.v);
      break;
    case "struct":
      w.tag(5, WireType.LengthDelimited).fork();
      writeStruct(w, v.entries);
      w.join();
      break;
    case "list":
      w.tag(6, WireType.LengthDelimited).fork();
      for (const item of v.items) {
        w.tag(1, WireType.LengthDelimited).fork();
        writeValue(w, item);
        w.join();
      }
      w.join();
      break;
    case "none":
      break;
    case "multi":
      for (const p of v.parts) writeValue(w, p);
      break;
    case "unknown":
      w.tag(9, WireType.Varint).uint32(7);
      w.tag(10, WireType.LengthDelimited).bytes(new Uint8Array([1, 2, 3]));
      writeValue(w, v.inner);
      w.tag(11, WireType.Bit32).fixed32(5);
      break;
  }
}

function writeStruct(w: BinaryWriter, entries: WEntry[]): void {
  for (const e of entries) {
    w.tag(1, WireType.LengthDelimited).fork();
    if (e.key !== undefined) w.tag(1, WireType.LengthDelimited).string(e.key);
    for (const v of e.values) {
      w.tag(2, WireType.LengthDelimited).fork();
      writeValue(w, v);
      w.join();
    }
    w.join();
  }
}

/** The request as bytes; each event also carries an unknown field 99 unless `unknownField` is false. */
export function encodeRequest(userId: string, gameId: string, events: WEvent[], unknownField = true): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string(userId);
  w.tag(2, WireType.LengthDelimited).string(gameId);
  for (const e of events) {
    w.tag(3, WireType.LengthDelimited).fork();
    if (e.type !== "") w.tag(1, WireType.LengthDelimited).string(e.type);
    if (e.timestamp !== "") w.tag(2, WireType.LengthDelimited).string(e.timestamp);
    for (const cd of e.customdata) {
      w.tag(3, WireType.LengthDelimited).fork();
      writeStruct(w, cd);
      w.join();
    }
    if (e.customEventName !== "") w.tag(4, WireType.LengthDelimited).string(e.customEventName);
    if (e.eventId !== "") w.tag(5, WireType.LengthDelimited).string(e.eventId);
    if (unknownField) w.tag(99, WireType.Varint).uint32(1); // skipped by protobuf-es and the scanner
    w.join();
  }
  return w.finish();
}

