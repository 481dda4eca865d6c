/**
 * Identifies one running process in the status message: host name, process id and start time in
 * Unix seconds. Another copy of the same venId shows up with a different instance.
 */
export function instanceId(hostname: string, pid: number, startedAtSeconds: number): string {
  return `${hostname}/${pid}/${startedAtSeconds}`;
}
