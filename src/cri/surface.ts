/**
 * The CRI's interface as lines of text: every service, method, message, field (name, number,
 * type) and enum value of a loaded `.proto`. The same function reads Berth's own definitions
 * (api.proto) and Kubernetes' published api.proto (scripts/cri-api-surface.ts), so the two can
 * be compared line by line; comments, order and options, which do not reach the wire, do not
 * appear.
 *
 *   field runtime.v1.PortMapping.host_port 3 int32
 *   rpc runtime.v1.RuntimeService.GetContainerEvents GetEventsRequest -> stream ContainerEventResponse
 */
import type { PackageDefinition } from '@grpc/proto-loader';

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: MessageDescriptor[];
  enumType: EnumDescriptor[];
  options?: { mapEntry?: boolean } | null;
}

interface EnumDescriptor {
  name: string;
  value: Array<{ name: string; number: number }>;
}

interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { type: { name: string } };
  responseType: { type: { name: string } };
}

/** `TYPE_STRING` → `string`; messages and enums by their name. */
function typeOf(f: FieldDescriptor, maps: Map<string, MessageDescriptor>): string {
  if (f.type === 'TYPE_MESSAGE' || f.type === 'TYPE_ENUM') {
    const entry = maps.get(f.typeName);
    if (entry) {
      const [k, v] = entry.field;
      return `map<${typeOf(k!, maps)},${typeOf(v!, maps)}>`;
    }
    return f.typeName.split('.').pop()!;
  }
  return f.type.replace(/^TYPE_/, '').toLowerCase();
}

function messageLines(prefix: string, m: MessageDescriptor, out: string[]): void {
  const name = `${prefix}.${m.name}`;
  out.push(`message ${name}`);
  const maps = new Map(m.nestedType.filter((n) => n.options?.mapEntry).map((n) => [n.name, n]));
  for (const f of m.field) {
    const type = typeOf(f, maps);
    const repeated = f.label === 'LABEL_REPEATED' && !type.startsWith('map<') ? 'repeated ' : '';
    out.push(`field ${name}.${f.name} ${f.number} ${repeated}${type}`);
  }
  for (const n of m.nestedType) if (!n.options?.mapEntry) messageLines(name, n, out);
  for (const e of m.enumType) enumLines(name, e, out);
}

function enumLines(prefix: string, e: EnumDescriptor, out: string[]): void {
  const name = `${prefix}.${e.name}`;
  out.push(`enum ${name}`);
  for (const v of e.value) out.push(`value ${name}.${v.name} ${v.number}`);
}

/** The sorted surface of every type and service in `pkg` (`runtime.v1`). */
export function apiSurface(def: PackageDefinition, pkg: string): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(def)) {
    if (!key.startsWith(`${pkg}.`)) continue;
    const rest = key.slice(pkg.length + 1);
    // Nested types are listed under their parent too; take each once, from its parent.
    if (rest.includes('.')) continue;
    const v = value as { format?: string; type?: unknown };
    if (v.format?.includes('DescriptorProto') && !v.format.includes('Enum')) {
      messageLines(pkg, v.type as MessageDescriptor, out);
    } else if (v.format?.includes('EnumDescriptorProto')) {
      enumLines(pkg, v.type as EnumDescriptor, out);
    } else {
      out.push(`service ${key}`);
      for (const [method, m] of Object.entries(value as Record<string, MethodDefinition>)) {
        const req = `${m.requestStream ? 'stream ' : ''}${m.requestType.type.name}`;
        const res = `${m.responseStream ? 'stream ' : ''}${m.responseType.type.name}`;
        out.push(`rpc ${key}.${method} ${req} -> ${res}`);
      }
    }
  }
  return out.sort();
}
