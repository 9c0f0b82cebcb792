/** The message of a thrown value, for a log field or a dead letter's error. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
