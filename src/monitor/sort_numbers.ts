/** Sorting numbers in place, faster than `Float64Array.prototype.sort` for the sketch's arrays. */

/** Most ascending runs merged rather than sorted: a sketch's upper levels are a few sorted runs end to end. */
const MAX_RUNS = 4;
/** From this many items on, a radix sort (three passes over the top 32 bits, then each tie group); below, quicksort. */
const RADIX_FROM = 512;
/** Whether typed arrays are little-endian here (the radix sort reads a double's high word as the second of two). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Sorts `a[lo..hi)` ascending in place (NaN must be left out): a few sorted runs are merged; a large array is
 * radix-sorted on its top 32 bits (sign, exponent and 20 bits of mantissa: the order of all but near-equal
 * values), each group of equal top bits then quicksorted; a small one quicksorted. V8's typed-array sort costs
 * several times more per item at the sketch's sizes.
 *
 * @example
 * ```ts
 * sortNumbers(new Float64Array([3, 1, 2])); // Float64Array [1, 2, 3]
 * ```
 */
export function sortNumbers(a: Float64Array, lo = 0, hi = a.length): Float64Array {
  if (mergeRuns(a, lo, hi)) return a;
  if (hi - lo >= RADIX_FROM && LITTLE_ENDIAN) radixSort(a, lo, hi);
  else quickSort(a, lo, hi);
  return a;
}

let keysA = new Uint32Array(0);
let keysB = new Uint32Array(0);
let valuesA = new Float64Array(0);
let valuesB = new Float64Array(0);
const buckets = new Uint32Array(2048);

function radixSort(a: Float64Array, lo: number, hi: number): void {
  const n = hi - lo;
  if (keysA.length < n) {
    keysA = new Uint32Array(n);
    keysB = new Uint32Array(n);
    valuesA = new Float64Array(n);
    valuesB = new Float64Array(n);
  }
  const words = new Uint32Array(a.buffer, a.byteOffset + lo * 8, n * 2);
  // The high word, made to sort as unsigned: negative numbers flipped whole, positive ones above them.
  for (let i = 0; i < n; i++) {
    const h = words[2 * i + 1];
    keysA[i] = (h & 0x80000000) !== 0 ? ~h >>> 0 : (h | 0x80000000) >>> 0;
  }
  const own = a.subarray(lo, hi);
  pass(keysA, own, keysB, valuesA, n, 0, 11);
  pass(keysB, valuesA, keysA, valuesB, n, 11, 11);
  pass(keysA, valuesB, keysB, own, n, 22, 10);
  // Values equal in their top 32 bits are in arrival order: sort each such group.
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && keysB[j] === keysB[i]) j++;
    // Most groups are one value repeated (a distance of 1.5 miles), already in order.
    if (j - i > 1 && !ascending(a, lo + i, lo + j)) quickSort(a, lo + i, lo + j);
    i = j;
  }
}

function ascending(a: Float64Array, lo: number, hi: number): boolean {
  for (let i = lo + 1; i < hi; i++) if (a[i] < a[i - 1]) return false;
  return true;
}

/** One stable counting pass on `bits` bits from `shift`. */
function pass(
  keys: Uint32Array,
  values: Float64Array,
  toKeys: Uint32Array,
  toValues: Float64Array,
  n: number,
  shift: number,
  bits: number,
): void {
  const mask = (1 << bits) - 1;
  buckets.fill(0, 0, mask + 1);
  for (let i = 0; i < n; i++) buckets[(keys[i] >>> shift) & mask]++;
  let sum = 0;
  for (let b = 0; b <= mask; b++) {
    const c = buckets[b];
    buckets[b] = sum;
    sum += c;
  }
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    const at = buckets[(k >>> shift) & mask]++;
    toKeys[at] = k;
    toValues[at] = values[i];
  }
}

/** A quicksort with a median-of-three pivot, and an insertion sort below 16 items. */
function quickSort(a: Float64Array, lo: number, hi: number): void {
  // An explicit stack of ranges; the larger half is pushed, the smaller sorted next, so depth stays log n.
  const stack: number[] = [];
  for (;;) {
    while (hi - lo > 16) {
      const mid = (lo + hi) >>> 1;
      // Median of three to a[mid]; it also guards both scans below.
      if (a[mid] < a[lo]) swap(a, mid, lo);
      if (a[hi - 1] < a[lo]) swap(a, hi - 1, lo);
      if (a[hi - 1] < a[mid]) swap(a, hi - 1, mid);
      const pivot = a[mid];
      let i = lo;
      let j = hi - 1;
      for (;;) {
        do i++; while (a[i] < pivot);
        do j--; while (a[j] > pivot);
        if (i >= j) break;
        swap(a, i, j);
      }
      // a[lo..j] <= pivot <= a[j+1..hi)
      if (j + 1 - lo < hi - j - 1) {
        stack.push(j + 1, hi);
        hi = j + 1;
      } else {
        stack.push(lo, j + 1);
        lo = j + 1;
      }
    }
    for (let i = lo + 1; i < hi; i++) {
      const v = a[i];
      let j = i - 1;
      while (j >= lo && a[j] > v) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = v;
    }
    if (stack.length === 0) return;
    hi = stack.pop()!;
    lo = stack.pop()!;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

let scratch = new Float64Array(0);

/**
 * Sorts `a[lo..hi)` by merging its ascending runs when it has at most MAX_RUNS of them (linear time); returns false,
 * having changed nothing, when it has more.
 */
function mergeRuns(a: Float64Array, lo: number, hi: number): boolean {
  const bounds = [lo];
  for (let i = lo + 1; i < hi; i++) {
    if (a[i] < a[i - 1]) {
      if (bounds.length === MAX_RUNS) return false;
      bounds.push(i);
    }
  }
  bounds.push(hi);
  if (scratch.length < hi - lo) scratch = new Float64Array(hi - lo);
  // Merge the first run with each next one in turn: the runs are few.
  for (let r = 1; r < bounds.length - 1; r++) {
    const mid = bounds[r];
    const end = bounds[r + 1];
    if (a[mid - 1] <= a[mid]) continue;
    const left = mid - lo;
    scratch.set(a.subarray(lo, mid));
    let i = 0;
    let j = mid;
    let k = lo;
    while (i < left && j < end) a[k++] = scratch[i] <= a[j] ? scratch[i++] : a[j++];
    while (i < left) a[k++] = scratch[i++];
  }
  return true;
}
