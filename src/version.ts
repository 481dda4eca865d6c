import packageJson from "../package.json" with { type: "json" };

/** The version from package.json, compiled into the binary. */
export const VERSION: string = packageJson.version;
