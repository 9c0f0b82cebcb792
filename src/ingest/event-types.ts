/** The event types of the public contract, spelled as on the wire. */
export const eventTypes = ["AppOpen", "LevelCompleted", "GameEnd", "AdImpression", "IAPPurchase", "Custom"] as const;

/** One of {@link eventTypes}. */
export type EventType = (typeof eventTypes)[number];

const known: ReadonlySet<string> = new Set(eventTypes);

/** Whether `value` is one of the contract's event type names. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && known.has(value);
}
