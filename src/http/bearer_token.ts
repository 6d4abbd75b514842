/**
 * Checks `Authorization: Bearer <key>` in constant time. Both sides are
 * hashed first, so the comparison takes the same time whatever the length
 * or content of the guess.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { AuthError } from "../errors.ts";

/**
 * A checker for one key: it throws a 401 `AuthError` unless the header
 * carries that key.
 *
 * @example
 * ```ts
 * const check = bearerToken("s3cret");
 * check("Bearer s3cret"); // passes
 * check(undefined); // throws AuthError
 * ```
 */
export function bearerToken(key: string): (authorization: string | undefined | null) => void {
  const expected = digest(key);
  return (authorization) => {
    const match = /^Bearer[ ]+(.+)$/i.exec(authorization ?? "");
    if (match === null) throw new AuthError("This route needs an API key: send Authorization: Bearer <key>");
    if (!timingSafeEqual(digest(match[1].trim()), expected)) throw new AuthError("The API key is not valid");
  };
}

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}
