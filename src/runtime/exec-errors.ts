/**
 * runc and crun word a process that cannot be executed differently; the docker CLI picks its
 * exit code (127 not found, 126 not executable) from runc's wording, and users know runc's
 * messages. This puts either runtime's message into runc's words.
 */
export function runcWording(msg: string, argv0: string): string {
  const notFound = msg.match(/executable file `([^`]+)` not found in \$PATH/);
  if (notFound) {
    const name = notFound[1]!;
    return name.includes('/')
      ? `exec: "${name}": stat ${name}: no such file or directory`
      : `exec: "${name}": executable file not found in $PATH`;
  }
  // An empty command is not looked up at all: runc's words for it are PATH's.
  if (argv0 === '' && /open executable|permission denied/i.test(msg))
    return 'exec: "": executable file not found in $PATH';
  if (/open executable: (Permission denied|Operation not permitted)/.test(msg))
    return `exec: "${argv0}": permission denied`;
  const runc = msg.match(
    /exec: "([^"]+)": (executable file not found in \$PATH|stat [^:]+: no such file or directory|permission denied|is a directory)/,
  );
  if (runc) return `exec: "${runc[1]}": ${runc[2]}`;
  return msg;
}

/** The exit code Docker gives a process that never ran, by the reason in runc's words. */
export function execFailureCode(runcMsg: string): number {
  if (/executable file not found|no such file or directory/.test(runcMsg)) return 127;
  if (/permission denied|is a directory/.test(runcMsg)) return 126;
  return 128;
}
