import * as v from "valibot";

/** A finite number: the backend drops NaN and Infinity, and JSON cannot carry them. */
export const finiteNumber = v.pipe(v.number(), v.finite());

/** A whole number of Unix seconds; milliseconds would be a value after the year 33000. */
export const unixSecondsSchema = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(99_999_999_999));

export const nonNegativeKw = v.pipe(v.number(), v.finite(), v.minValue(0));

/** One line per issue: `path: message`, for logs and rejection messages. */
export function formatIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .map((issue) => {
      const path = v.getDotPath(issue);
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}
