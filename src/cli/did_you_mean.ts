/**
 * The nearest known words to a misspelt one, for a usage error: `--modle`
 * gets "(Did you mean --model?)". Near means at most 3 edits (an insertion,
 * a deletion, a substitution, or two neighbours swapped) and at least 40% of
 * the longer word kept. A short option (`-p`: score has none but `-h`)
 * gets the long ones of its letter (`--port`).
 */

const MAX_EDITS = 3;
const MIN_SIMILARITY = 0.4;

/**
 * `"\n(Did you mean <nearest>?)"`, or `""` when no known word is near.
 *
 * @example
 * ```ts
 * didYouMean("--modle", ["--model", "--input"]); // "\n(Did you mean --model?)"
 * ```
 */
export function didYouMean(word: string, known: readonly string[]): string {
  const short = /^-([a-zA-Z])$/.exec(word);
  if (short !== null) {
    const letter = short[1].toLowerCase();
    return said([...new Set(known)].filter((k) => k.startsWith(`--${letter}`)).slice(0, 4));
  }
  let best: string[] = [];
  let fewest = MAX_EDITS + 1;
  // The dashes of an option are the same in every candidate: only the name counts.
  const bare = (w: string) => w.replace(/^--/, "");
  for (const candidate of new Set(known)) {
    const [a, b] = [bare(word), bare(candidate)];
    const edits = editDistance(a, b);
    const longer = Math.max(a.length, b.length);
    if (edits > MAX_EDITS || (longer - edits) / longer <= MIN_SIMILARITY) continue;
    if (edits < fewest) [best, fewest] = [[candidate], edits];
    else if (edits === fewest) best.push(candidate);
  }
  return said(best);
}

function said(best: string[]): string {
  if (best.length === 0) return "";
  return `\n(Did you mean ${best.length === 1 ? best[0] : `one of ${best.join(", ")}`}?)`;
}

/** Edits from `a` to `b`, a swap of neighbours counting one (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
