/**
 * Go's strconv.ParseBool, which dockerd's and the docker CLI's boolean flags and moby's
 * `--security-opt no-new-privileges=` take: undefined for what it refuses (each caller words
 * its own error, as each Go caller does).
 *
 * @example
 *   goParseBool('True'); // true
 *   goParseBool('yes'); // undefined
 */
export function goParseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}
