/**
 * HTTP Basic authentication against an Apache htpasswd file, the way distribution's
 * `registry:2` does it (`auth: htpasswd`): only bcrypt hashes (`$2y$`, `$2a$`, `$2b$`, what
 * `htpasswd -B` writes), one `user:hash` per line, blank lines and `#` comments ignored.
 *
 * Lifecycle: `Htpasswd.load(path)` reads and checks the file (a bad line is an error naming
 * it, so a typo stops start-up instead of locking everyone out); `verify(header)` re-reads the
 * file when its mtime, size or inode changed, as registry:2 does, keeping the old users when
 * the new file is unreadable or malformed.
 *
 * Invariants: passwords are never logged or kept; a success is cached for `cacheMs` keyed by
 * a SHA-256 of `user:password` (bcrypt is slow on purpose and one push makes dozens of
 * requests); an unknown user still costs a bcrypt comparison, so timing does not tell which
 * users exist.
 *
 *   const auth = await Htpasswd.load('/etc/registry/htpasswd');
 *   if (!(await auth.verify(req.headers.authorization))) answer401();
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import bcrypt from 'bcryptjs';

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
// A valid hash of a random password, compared against when the user is unknown. Made on first
// use: berthd imports this module too and should not pay for a bcrypt hash at start-up.
let dummyHash: string | undefined;
const dummy = () => (dummyHash ??= bcrypt.hashSync(randomBytes(16).toString('hex'), 10));

/** Parses htpasswd text into user → bcrypt hash; throws naming the first bad line. */
export function parseHtpasswd(text: string, path = 'htpasswd'): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const where = `htpasswd file "${path}" line ${i + 1}`;
    if (colon <= 0) throw new Error(`${where}: want user:hash`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    // Only the user is quoted: the hash is a secret's derivative and stays out of logs.
    if (!BCRYPT.test(hash))
      throw new Error(`${where}: user "${user}" has no bcrypt hash ($2y$, $2a$ or $2b$; use htpasswd -B)`);
    if (users.has(user)) throw new Error(`${where}: user "${user}" appears twice`);
    users.set(user, hash);
  }
  return users;
}

/** Splits an `Authorization: Basic` header; undefined when absent or malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export interface HtpasswdOptions {
  /** How long a successful check is remembered (default 60 s). */
  cacheMs?: number;
  /** Told when a changed file could not be used (the old users stay in force). */
  onReloadError?: (e: Error) => void;
}

export class Htpasswd {
  private users: Map<string, string>;
  private version: string;
  private readonly cache = new Map<string, { hash: string; until: number }>();
  private checking?: Promise<void>;
  readonly path: string;
  private readonly options: HtpasswdOptions;

  private constructor(path: string, users: Map<string, string>, version: string, options: HtpasswdOptions) {
    this.path = path;
    this.options = options;
    this.users = users;
    this.version = version;
  }

  static async load(path: string, options: HtpasswdOptions = {}): Promise<Htpasswd> {
    const [text, version] = await Promise.all([readFile(path, 'utf8'), versionOf(path)]);
    return new Htpasswd(path, parseHtpasswd(text, path), version, options);
  }

  get size(): number {
    return this.users.size;
  }

  /** Whether the `Authorization` header names a user of the file with the right password. */
  async verify(header: string | undefined): Promise<boolean> {
    await this.reloadIfChanged();
    const creds = parseBasic(header);
    if (!creds) return false;
    const hash = this.users.get(creds.user);
    const key = createHash('sha256').update(`${creds.user}\0${creds.password}`).digest();
    const keyHex = key.toString('hex');
    const hit = this.cache.get(keyHex);
    const now = Date.now();
    // The cached entry must still match the user's current hash: a changed password in the
    // file takes effect at once, not after the cache expires.
    if (hit && hit.until > now && hash !== undefined && safeEqual(hit.hash, hash)) return true;
    const ok = await bcrypt.compare(creds.password, hash ?? dummy());
    if (!ok || hash === undefined) return false;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(keyHex, { hash, until: now + (this.options.cacheMs ?? 60_000) });
    return true;
  }

  // One stat per request is cheap next to the request; concurrent requests share it.
  private reloadIfChanged(): Promise<void> {
    this.checking ??= (async () => {
      try {
        const version = await versionOf(this.path);
        if (version === this.version) return;
        // Recorded first so a bad file is reported once per change, not once per request.
        this.version = version;
        this.users = parseHtpasswd(await readFile(this.path, 'utf8'), this.path);
        this.cache.clear();
      } catch (e) {
        this.options.onReloadError?.(e as Error);
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }
}

async function versionOf(path: string): Promise<string> {
  const st = await stat(path, { bigint: true });
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
