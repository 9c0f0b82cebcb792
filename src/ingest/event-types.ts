/** The event types of the public contract, spelled as on the wire. */
export const eventTypes = ["AppOpen", "LevelCompleted", "GameEnd", "AdImpression", "IAPPurchase", "Custom"] as const;

/** {@link eventTypes} as the bytes a binary request carries, in the same order. */
export const eventTypeBytes: readonly Uint8Array[] = eventTypes.map((name) => Buffer.from(name, "latin1"));

/** One of {@link eventTypes}. */
export type EventType = (typeof eventTypes)[number];

const known: ReadonlySet<string> = new Set(eventTypes);

/** Whether `value` is one of the contract's event type names. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && known.has(value);
}
