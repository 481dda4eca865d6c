import { buildTimestamp } from "./build-time.ts" with { type: "macro" };

/**
 * When this program was built, in milliseconds since the epoch. A bundler macro fills it in at
 * build time (when run from source, at load time). A system clock before this moment is wrong.
 */
export const BUILD_TIME_MS: number = buildTimestamp();
