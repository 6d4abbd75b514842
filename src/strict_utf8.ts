/**
 * A decoder of text that must be UTF-8: it throws, as a `fatal` decoder
 * does, on bytes that are not UTF-8, where a lenient one would put U+FFFD in
 * their place and the text would go on changed. Under Deno a `fatal` decoder
 * is several times slower than a lenient one, so the bytes are decoded
 * leniently first, and again with `fatal` only when the text holds U+FFFD
 * (which valid text may hold as itself).
 */

/**
 * A strict decoder, with a `TextDecoder`'s `ignoreBOM` (false: a leading byte order mark is dropped).
 *
 * @example
 * ```ts
 * const decode = strictUtf8();
 * decode(new Uint8Array([0x61])); // "a"
 * decode(new Uint8Array([0xe9])); // throws TypeError
 * ```
 */
export function strictUtf8(options: { ignoreBOM?: boolean } = {}): (bytes: Uint8Array) => string {
  const lenient = new TextDecoder("utf-8", options);
  const fatal = new TextDecoder("utf-8", { ...options, fatal: true });
  return (bytes) => {
    const text = lenient.decode(bytes);
    return text.includes("\uFFFD") ? fatal.decode(bytes) : text;
  };
}
