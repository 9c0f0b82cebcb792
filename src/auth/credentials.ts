import { ValidationError, type Violation } from "../errors.js";

/** Shortest accepted password. */
export const minPasswordLength = 8;
/** Long enough for any passphrase, short enough that hashing cannot be abused. */
export const maxPasswordLength = 1024;
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** `users.email` is `VARCHAR(254)`, the longest address RFC 5321 allows. */
const maxEmailLength = 254;

/** The form an email is stored and looked up in: one account per address, whatever its case. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Checks an email and a new password (register, link), reporting both at once.
 * @throws ValidationError naming `email` and/or `password`.
 */
export function checkCredentials(email: unknown, password: unknown): { email: string; password: string } {
  const violations: Violation[] = [];
  // The length is the stored form's: lower-casing can lengthen a string ("İ" is two UTF-16 units lower-cased).
  if (typeof email !== "string" || normalizeEmail(email).length > maxEmailLength || !emailPattern.test(email.trim())) {
    violations.push({ index: -1, field: "email", reason: "must be an email address" });
  }
  if (typeof password !== "string" || password.length < minPasswordLength) {
    violations.push({ index: -1, field: "password", reason: `must be at least ${minPasswordLength} characters` });
  } else if (password.length > maxPasswordLength) {
    violations.push({ index: -1, field: "password", reason: `must be at most ${maxPasswordLength} characters` });
  }
  if (violations.length > 0) throw new ValidationError(violations);
  return { email: normalizeEmail(email as string), password: password as string };
}
