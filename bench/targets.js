// The speed targets of `npm run bench`, each printed as a ratio against its baseline measured in the
// same run, with the target beside it and PASS or MISS (see bench/README.md for the baselines).

/** Prints one target: `ratio` must be at most `limit`. Returns whether it passed. */
export function target(label, ratio, limit, baseline) {
  const pass = Number.isFinite(ratio) && ratio <= limit;
  console.log(
    `TARGET ${label}: ${ratio.toFixed(2)}x ${baseline} (target <= ${limit.toFixed(2)}x) ${pass ? 'PASS' : 'MISS'}`,
  );
  return pass;
}
