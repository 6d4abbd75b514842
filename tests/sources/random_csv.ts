/** Small random CSV files, for holding the CSV readers to each other. */

/** A repeatable generator of numbers in [0, 1), for files the test can make again. */
export function random(start: number): () => number {
  let state = start;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/**
 * A random small CSV of two columns: mostly well formed (quotes, spaces, line breaks in quotes, LF, CRLF or CR
 * line endings, UTF-8 beyond ASCII), sometimes not.
 */
export function randomCsv(next: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
  const ending = pick(["\n", "\r\n", "\r"]);
  const field = () =>
    next() < 0.5
      ? Array.from({ length: Math.floor(next() * 4) }, () => pick(["a", "1", " ", "π", '"'])).join("")
      : pick(["", " "]) + '"' +
        Array.from({ length: Math.floor(next() * 5) }, () => pick(["a", ",", '""', " ", ending, "\n"])).join("") +
        '"' + pick(["", " "]);
  let text = "a,b" + ending;
  for (let i = 0, n = 1 + Math.floor(next() * 5); i < n; i++) {
    text += pick([field() + "," + field(), field() + "," + field(), field() + "," + field() + ",", "", field()]);
    text += ending;
  }
  if (next() < 0.2) {
    const at = 4 + Math.floor(next() * (text.length - 4));
    text = text.slice(0, at) + pick(['"', ",", "\n", "x"]) + text.slice(at);
  }
  return next() < 0.1 ? text.trimEnd() : text;
}
