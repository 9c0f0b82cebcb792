/** Longest `game_id`. */
export const maxGameIdLength = 128;

const gameIdPattern = /^[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+$/;

/**
 * Why `gameId` is not a game's bundle id, or undefined when it is one:
 * reverse-DNS style (`com.example.mygame`), at most 128 characters. Ingest and
 * the games admin share this rule, so every registrable game can receive events.
 */
export function gameIdProblem(gameId: string): string | undefined {
  if (gameId === "") return "is required";
  if (gameId.length > maxGameIdLength) return `must be at most ${maxGameIdLength} characters`;
  if (!gameIdPattern.test(gameId)) return "must be a reverse-DNS bundle id such as com.example.mygame";
  return undefined;
}
