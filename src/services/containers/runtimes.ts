/**
 * The OCI runtimes a daemon offers, by the names `HostConfig.Runtime` and `docker info` use
 * (`crun`, `runc`, later `runsc` and a micro-VM runtime), and which one each container runs on.
 *
 * The choice is the container's, made once at create and kept in its record
 * (`HostConfig.Runtime`); a driver never decides it. Every operation on a container goes to the
 * runtime its record names. A record naming a runtime this daemon does not offer (it was made
 * under another `--default-runtime`) runs on the default one, as every container did before
 * there were several.
 *
 * @example
 *   const runtimes = new Runtimes(new Map([['crun', crun], ['runc', runc]]), 'crun');
 *   runtimes.choose(undefined); // 'crun'
 *   runtimes.of(record).kill(record.Id, 'SIGTERM');
 */
import { internal, invalidArgument } from '../../errdefs/index.ts';

export class Runtimes<R> {
  readonly defaultName: string;
  private readonly byName: ReadonlyMap<string, R>;

  constructor(byName: ReadonlyMap<string, R>, defaultName: string) {
    if (!byName.has(defaultName)) throw internal(`the default runtime "${defaultName}" is not among the runtimes`);
    this.byName = byName;
    this.defaultName = defaultName;
  }

  /** The names offered, the default first. */
  names(): string[] {
    return [this.defaultName, ...[...this.byName.keys()].filter((n) => n !== this.defaultName)];
  }

  /** Every runtime with its name. */
  entries(): Array<[string, R]> {
    return this.names().map((n) => [n, this.byName.get(n)!]);
  }

  /** For a create: the name `HostConfig.Runtime` asks for (the default when unset), as dockerd refuses another. */
  choose(name: string | undefined): string {
    if (!name) return this.defaultName;
    if (!this.byName.has(name)) throw invalidArgument(`unknown or invalid runtime name: ${name}`);
    return name;
  }

  /** The name of the runtime a container runs on. */
  nameOf(c: { HostConfig: { Runtime?: string } }): string {
    const name = c.HostConfig.Runtime;
    return name && this.byName.has(name) ? name : this.defaultName;
  }

  /** The runtime a container runs on. */
  of(c: { HostConfig: { Runtime?: string } }): R {
    return this.byName.get(this.nameOf(c))!;
  }
}
