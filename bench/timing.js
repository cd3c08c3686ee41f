// The benches' one timer: medians of repeated runs, each after a garbage collection when the
// process runs with --expose-gc, so that one run's garbage is not billed to the next.

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs `fn` `repeat` times; the median wall time in ms and the last run's result. */
export async function medianOf(repeat, fn) {
  const times = [];
  let result;
  for (let i = 0; i < repeat; i++) {
    globalThis.gc?.();
    const start = process.hrtime.bigint();
    result = await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { ms: median(times), result };
}
