/**
 * `.dockerignore`, as moby's patternmatcher reads and applies it: one pattern a line, `#`
 * comments, `!` exceptions, `*` and `?` within a path element, `**` across elements, the last
 * matching pattern wins, and a path is excluded when it or one of its parent directories is.
 */

import { goClean } from './pathclean.ts';

export interface IgnorePattern {
  exclusion: boolean;
  source: string;
  re: RegExp;
}

/** The patterns of a .dockerignore file, normalised as docker does. */
export function readIgnoreFile(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    let p = raw.replace(/\r$/, '');
    if (p.startsWith('#')) continue;
    p = p.trim();
    if (!p) continue;
    const invert = p.startsWith('!');
    if (invert) p = p.slice(1).trim();
    if (p) {
      p = goClean(p);
      if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    }
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

export function compilePattern(pattern: string): IgnorePattern {
  const exclusion = pattern.startsWith('!');
  const src = goClean(exclusion ? pattern.slice(1) : pattern);
  let re = '^';
  const chars = [...src];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        if (i + 1 >= chars.length) re += '.*';
        else re += '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\') {
      if (i + 1 < chars.length) re += `\\${chars[++i]}`;
      else re += '\\\\';
    } else if (ch === '[' || ch === ']') {
      re += ch;
    } else if ('.+()|{}$^'.includes(ch)) {
      re += `\\${ch}`;
    } else {
      re += ch;
    }
  }
  re += '$';
  let compiled: RegExp;
  try {
    compiled = new RegExp(re, 'u');
  } catch {
    throw new Error(`syntax error in pattern: ${pattern}`);
  }
  return { exclusion, source: src, re: compiled };
}

export class IgnoreMatcher {
  readonly patterns: IgnorePattern[];
  constructor(patterns: string[]) {
    this.patterns = patterns.filter((p) => p !== '' && p !== '!').map(compilePattern);
  }

  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** MatchesOrParentMatches: is this relative path (posix) excluded? */
  excluded(file: string): boolean {
    const f = goClean(file);
    const parent = f.includes('/') ? f.slice(0, f.lastIndexOf('/')) : '.';
    const parentDirs = parent.split('/');
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let match = p.re.test(f);
      if (!match && parent !== '.') {
        for (let i = 0; i < parentDirs.length; i++) {
          if (p.re.test(parentDirs.slice(0, i + 1).join('/'))) {
            match = true;
            break;
          }
        }
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }
}
