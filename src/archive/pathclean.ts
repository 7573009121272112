/**
 * Go's `path.Clean`, which the docker CLI applies to cp paths and .dockerignore patterns:
 * unlike `path.posix.normalize`, it drops a trailing slash and never keeps `..` above `/`.
 */
export function goClean(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = out.join('/');
  return abs ? `/${s}` : s || '.';
}
