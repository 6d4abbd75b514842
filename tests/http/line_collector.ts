/** An output for the access log that keeps what is written and parses it back as JSON lines. */
export function collector() {
  const chunks: Uint8Array[] = [];
  return {
    out: { writeSync: (p: Uint8Array) => (chunks.push(p.slice()), p.length) },
    lines: () =>
      chunks.map((c) => new TextDecoder().decode(c)).join("").split("\n").filter((l) => l !== "").map((l) =>
        JSON.parse(l)
      ),
  };
}
