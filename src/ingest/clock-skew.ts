import type { ClientInstant } from "./timestamp.js";

/** Widest accepted distance between a batch's `sent_at` and the gateway's receive time. */
export const maxClockSkewDays = 31;
const maxClockSkewMs = maxClockSkewDays * 24 * 60 * 60 * 1000;

/**
 * How far the device's clock runs behind the gateway's, in microseconds:
 * receive time minus `sent_at`. Added to each event's timestamp it gives the
 * event's `corrected_at`, the instant on the gateway's clock (the batch's time
 * in flight is counted as clock error, as PostHog and Segment count it).
 */
export function clockSkewUs(sentAt: ClientInstant, receivedAtMs: number): number {
  return (receivedAtMs - sentAt.epochMs) * 1000 - sentAt.micros;
}

/** Why `sent_at` is refused against the receive time, or undefined when it is accepted. */
export function clockSkewProblem(sentAt: ClientInstant, receivedAtMs: number): string | undefined {
  if (Math.abs(receivedAtMs - sentAt.epochMs) <= maxClockSkewMs) return undefined;
  return `is more than ${maxClockSkewDays} days from the server's time (${new Date(receivedAtMs).toISOString()}): check the device clock`;
}
