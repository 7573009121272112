/**
 * PAX extended-header records: reading them byte-exact (xattr values such as
 * `security.capability` are binary) and writing xattrs.
 *
 * tar-stream decodes PAX values as UTF-8 text, which mangles binary values. So `PaxReader`
 * also keeps the raw bytes of each extended header as tar-stream decodes it, and answers from
 * those; if a future tar-stream no longer lets it, it falls back to tar-stream's text values
 * (the archive tests check binary values survive, so that change would not go unnoticed).
 */
import { isUtf8 } from 'node:buffer';
import type { Extract, Header } from 'tar-stream';

export type PaxRecords = Map<string, Buffer>;

interface ExtractInternals {
  _decodeLongHeader?: (this: ExtractInternals, buf: Uint8Array) => unknown;
  _header?: { type?: string } | null;
}

export class PaxReader {
  private raw: Buffer | undefined;
  private global: Buffer | undefined;
  readonly exact: boolean;

  constructor(ex: Extract) {
    const inner = ex as unknown as ExtractInternals;
    const decode = inner._decodeLongHeader;
    this.exact = typeof decode === 'function';
    if (!this.exact) return;
    const self = this;
    inner._decodeLongHeader = function (buf) {
      const type = this._header?.type;
      if (type === 'pax-header') self.raw = Buffer.from(buf);
      else if (type === 'pax-global-header') self.global = Buffer.from(buf);
      return decode!.call(this, buf);
    };
  }

  /**
   * The PAX records of the entry whose header tar-stream just produced (global ones merged
   * under per-entry ones), or undefined when it has none. Call once per entry, in order:
   * tar-stream decodes the next extended header only after the current entry is consumed.
   */
  take(h: Header): PaxRecords | undefined {
    const raw = this.raw;
    this.raw = undefined;
    if (!h.pax) return undefined;
    if (!this.exact || raw === undefined) {
      const out: PaxRecords = new Map();
      for (const [k, v] of Object.entries(h.pax as Record<string, string>)) out.set(k, Buffer.from(String(v), 'utf8'));
      return out;
    }
    const out: PaxRecords = this.global ? parsePax(this.global) : new Map();
    for (const [k, v] of parsePax(raw)) out.set(k, v);
    return out;
  }
}

/** Parses `"<len> <key>=<value>\n"` records; stops at the first malformed one, as tar-stream does. */
export function parsePax(buf: Buffer): PaxRecords {
  const out: PaxRecords = new Map();
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = Number.parseInt(buf.toString('latin1', off, sp), 10);
    if (!(len > 0) || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) break;
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

const SCHILY_XATTR = 'SCHILY.xattr.';
const LIBARCHIVE_XATTR = 'LIBARCHIVE.xattr.';

/**
 * Extended attributes carried by PAX records: `SCHILY.xattr.<name>` (GNU tar, Go, Docker),
 * raw value; and `LIBARCHIVE.xattr.<url-encoded name>` (bsdtar), base64 value.
 */
export function xattrsOf(records: PaxRecords | undefined): Array<[name: string, value: Buffer]> {
  if (!records) return [];
  const out: Array<[string, Buffer]> = [];
  for (const [k, v] of records) {
    if (k.startsWith(SCHILY_XATTR)) out.push([k.slice(SCHILY_XATTR.length), v]);
    else if (k.startsWith(LIBARCHIVE_XATTR)) {
      let name: string;
      try {
        name = decodeURIComponent(k.slice(LIBARCHIVE_XATTR.length));
      } catch {
        continue;
      }
      out.push([name, Buffer.from(v.toString('latin1'), 'base64')]);
    }
  }
  return out;
}

/**
 * PAX records for xattrs, for tar-stream's packer. tar-stream writes record values as UTF-8
 * text, so a value that is valid UTF-8 goes out as `SCHILY.xattr.*` (what Docker reads); any
 * other value as libarchive's base64 `LIBARCHIVE.xattr.*`, which Berth and bsdtar read.
 */
export function xattrRecords(xattrs: ReadonlyMap<string, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of xattrs) {
    if (isUtf8(value)) out[SCHILY_XATTR + name] = value.toString('utf8');
    else out[LIBARCHIVE_XATTR + encodeURIComponent(name)] = value.toString('base64');
  }
  return out;
}

/**
 * An xattr value in the text form `SpecialFiles.setxattr` hands to setfattr: hex, so that any
 * bytes survive.
 */
export function setfattrValue(value: Buffer): string {
  return value.length === 0 ? '""' : `0x${value.toString('hex')}`;
}
