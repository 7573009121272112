/**
 * nftables rulesets, run by the host itself where it can (`host.rules`: libnftables in the
 * launcher, no program started: a spawned nft was most of a network create's time) and
 * otherwise by `nft -f -`. Every ruleset is one transaction either way.
 */
import type { Host } from '../host/index.ts';

/** Runs `rules` (nft's file syntax) in one transaction; rejects with nft's words. */
export async function runNft(host: Host, rules: string): Promise<void> {
  if (host.rules) return host.rules.nft(rules);
  await host.run('nft', ['-f', '-'], { input: rules });
}

/**
 * Deletes Berth's table `table` of each family, there or not: each is declared (a no-op when it
 * is there) and then deleted, all in one transaction, where a `nft delete table` each would
 * fail on a missing one and be a program each.
 */
export async function deleteTables(host: Host, table: string, families: readonly string[]): Promise<void> {
  await runNft(host, families.map((f) => `table ${f} ${table}\ndelete table ${f} ${table}\n`).join('')).catch(() => {});
}
