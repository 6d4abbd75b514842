/** Reproducible random samples for the monitor's tests. */

/** n values of a distribution from a generator (mulberry32) started at `start`: the same start gives the same sample. */
export function randomSample(kind: "normal" | "lognormal" | "dice" | "uniform", n: number, start: number): number[] {
  let state = start >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return Array.from({ length: n }, () => {
    switch (kind) {
      case "normal":
        return normal();
      case "lognormal":
        return Math.exp(normal());
      case "dice":
        return 1 + Math.floor(uniform() * 6);
      case "uniform":
        return uniform();
    }
  });
}
