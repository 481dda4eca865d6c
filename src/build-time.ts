/** Bundler macro: runs at build time and is inlined as a number literal. */
export function buildTimestamp(): number {
  return Date.now();
}
