/**
 * Generates the wire codecs in src/protocol/messages/ from Kafka's JSON message specs
 * (`clients/src/main/resources/common/message/` in Apache Kafka; its README there describes the format).
 *
 *   node dist/scripts/gen-protocol.js [--spec-dir DIR] [--out DIR] [--check]
 *
 * By default the specs are read from the pinned Kafka client jar (scripts/kafka-specs.ts: Maven
 * Central, verified, cached outside the repository); `--spec-dir` reads a folder of `*.json` instead,
 * e.g. the `common/message` folder of a Kafka checkout.
 *
 * One output file per API key (request + response), one per header and one per `data` spec, plus
 * index.ts with the API registry and every codec as a lazy codec that loads its module on first use
 * (so importing the index does not load 99 modules). Every message becomes an interface and a MessageCodec const of the
 * same name; every nested/common struct becomes an interface `${MessageName}${StructName}`. The
 * generated decode/encode functions are straight-line code with `version >= N` checks per field.
 *
 * Only structural facts (names, types, versions, defaults, tags) go into the output, never `about`.
 * Specs whose `validVersions` is "none" (APIs Kafka has removed) generate nothing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KAFKA_SPECS_SOURCE, kafkaSpecFiles } from './kafka-specs.js';

// ---------------------------------------------------------------------------------------------
// Spec model and parsing
// ---------------------------------------------------------------------------------------------

export interface FieldSpec {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  flexibleVersions?: string;
  fields?: FieldSpec[];
}

export interface StructSpec {
  name: string;
  versions?: string;
  fields: FieldSpec[];
}

export interface MessageSpec {
  apiKey?: number;
  type: 'request' | 'response' | 'header' | 'data';
  name: string;
  validVersions: string;
  flexibleVersions: string;
  deprecatedVersions?: string;
  latestVersionUnstable?: boolean;
  listeners?: string[];
  fields: FieldSpec[];
  commonStructs?: StructSpec[];
}

/** Inclusive version range; `hi` is Infinity for "N+". */
export interface Range {
  lo: number;
  hi: number;
}

/** Remove `//` comments that are outside string literals. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

export function parseSpec(text: string): MessageSpec {
  return JSON.parse(stripComments(text)) as MessageSpec;
}

/** All `*.json` specs in a directory, sorted by file name. */
export function loadSpecs(specDir: string): MessageSpec[] {
  return readdirSync(specDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseSpec(readFileSync(join(specDir, f), 'utf8')));
}

/** The specs of the pinned Kafka client jar (fetched and cached on first use), sorted by file name. */
export async function loadJarSpecs(): Promise<MessageSpec[]> {
  const files = await kafkaSpecFiles();
  return [...files.keys()].sort().map((f) => parseSpec(files.get(f)!));
}

/** "3", "0-7", "9+" or "none" (null). */
export function parseRange(s: string | undefined): Range | null {
  if (s === undefined || s === 'none' || s === '') return null;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  if (/^\d+$/.test(s)) return { lo: Number(s), hi: Number(s) };
  throw new Error(`bad version range ${JSON.stringify(s)}`);
}

export function intersect(a: Range | null, b: Range | null): Range | null {
  if (!a || !b) return null;
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo <= hi ? { lo, hi } : null;
}

export function inRange(r: Range | null, v: number): boolean {
  return r !== null && v >= r.lo && v <= r.hi;
}

/** `TopicData` → `topicData`. */
export function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** `ApiVersions` → `api-versions`, `KRaftVersionRecord` → `k-raft-version-record`. */
export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** The API name of a request/response spec: `ProduceRequest` → `Produce`. */
export function apiName(spec: MessageSpec): string {
  return spec.name.replace(/(Request|Response)$/, '');
}

const PRIMITIVES: Record<string, { ts: string; read: string; size: number }> = {
  int8: { ts: 'number', read: 'int8', size: 1 },
  int16: { ts: 'number', read: 'int16', size: 2 },
  int32: { ts: 'number', read: 'int32', size: 4 },
  int64: { ts: 'bigint', read: 'int64', size: 8 },
  uint16: { ts: 'number', read: 'uint16', size: 2 },
  uint32: { ts: 'number', read: 'uint32', size: 4 },
  float64: { ts: 'number', read: 'float64', size: 8 },
  bool: { ts: 'boolean', read: 'bool', size: 1 },
  uuid: { ts: 'string', read: 'uuid', size: 16 },
};

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

export function isStructType(base: string): boolean {
  return /^[A-Z]/.test(base);
}

// ---------------------------------------------------------------------------------------------
// Code buffer
// ---------------------------------------------------------------------------------------------

class Code {
  readonly lines: string[] = [];
  private depth = 0;
  line(s: string): void {
    this.lines.push(s === '' ? '' : '  '.repeat(this.depth) + s);
  }
  open(s: string): void {
    this.line(s);
    this.depth++;
  }
  close(s = '}'): void {
    this.depth--;
    this.line(s);
  }
  /** `} else {` style: dedent, write, indent. */
  mid(s: string): void {
    this.depth--;
    this.line(s);
    this.depth++;
  }
}

// ---------------------------------------------------------------------------------------------
// Per-message generation
// ---------------------------------------------------------------------------------------------

interface StructDef {
  iface: string;
  fields: FieldSpec[];
}

type Default =
  | { kind: 'null' }
  | { kind: 'literal'; code: string }
  | { kind: 'emptyBytes' }
  | { kind: 'emptyArray' }
  | { kind: 'struct'; def: StructDef };

interface FieldInfo {
  f: FieldSpec;
  prop: string;
  isArray: boolean;
  base: string;
  struct: StructDef | null;
  present: Range | null;
  inline: Range | null;
  tagged: Range | null;
  nullable: Range | null;
  flexible: Range | null;
  everNullable: boolean;
  tsType: string;
  dflt: Default;
}

/** Imports and module-level helpers a generated file needs. */
interface FileUses {
  readerValue: boolean;
  writerValue: boolean;
  records: boolean;
  zeroUuid: boolean;
  emptyBytes: boolean;
}

class MessageGen {
  readonly structs: StructDef[] = [];
  private readonly structOf = new Map<FieldSpec, StructDef>();
  private readonly common = new Map<string, StructDef>();
  private readonly needDefault = new Set<StructDef>();
  private readonly needIsDefault = new Set<StructDef>();
  readonly msgRange: Range;
  readonly flexRange: Range | null;
  readonly top: StructDef;

  constructor(readonly spec: MessageSpec, readonly uses: FileUses) {
    const r = parseRange(spec.validVersions);
    if (!r || r.hi === Infinity) throw new Error(`${spec.name}: bad validVersions`);
    this.msgRange = r;
    this.flexRange = parseRange(spec.flexibleVersions);
    if (this.flexRange && this.flexRange.hi !== Infinity) throw new Error(`${spec.name}: flexibleVersions must be open-ended`);
    this.top = { iface: spec.name, fields: spec.fields };
    this.structs.push(this.top);
    this.usedNames.add(spec.name);
    for (const cs of spec.commonStructs ?? []) {
      this.common.set(cs.name, { iface: this.uniqueName(this.structName(cs.name)), fields: cs.fields });
    }
    // Depth-first in wire order; common structs are emitted where first used (unused ones not at all).
    this.collect(spec.fields);
  }

  get flexibleMinVersion(): number {
    return this.flexRange ? this.flexRange.lo : -1;
  }

  private readonly usedNames = new Set<string>();
  /** Inline struct definitions by spec type name, to reuse identical ones and tell different ones apart. */
  private readonly inlineByType = new Map<string, StructDef[]>();

  /**
   * Interface name of a struct: `${MessageName}${TypeName}`, without doubling the prefix when the spec's
   * type name already starts with the message name (`MetadataResponseTopic` stays as it is).
   */
  private structName(type: string): string {
    return type.startsWith(this.spec.name) ? type : this.spec.name + type;
  }

  /** `base`, or `base2`, `base3`… when `base` is already taken. */
  private uniqueName(base: string): string {
    let name = base;
    for (let i = 2; this.usedNames.has(name); i++) name = base + i;
    this.usedNames.add(name);
    return name;
  }

  private collect(fields: FieldSpec[]): void {
    for (const f of fields) {
      const base = f.type.startsWith('[]') ? f.type.slice(2) : f.type;
      if (!isStructType(base)) continue;
      if (f.fields) {
        const same = this.inlineByType.get(base) ?? [];
        const json = JSON.stringify(f.fields);
        const existing = same.find((d) => JSON.stringify(d.fields) === json);
        if (existing) {
          this.structOf.set(f, existing);
          continue;
        }
        const def: StructDef = { iface: this.uniqueName(this.structName(base)), fields: f.fields };
        same.push(def);
        this.inlineByType.set(base, same);
        this.structs.push(def);
        this.structOf.set(f, def);
        this.collect(f.fields);
      } else {
        const c = this.common.get(base);
        if (!c) throw new Error(`${this.spec.name}: unknown struct type ${base}`);
        this.structOf.set(f, c);
        if (!this.structs.includes(c)) {
          this.structs.push(c);
          this.collect(c.fields);
        }
      }
    }
  }

  info(f: FieldSpec): FieldInfo {
    const isArray = f.type.startsWith('[]');
    const base = isArray ? f.type.slice(2) : f.type;
    const struct = isStructType(base) ? this.structOf.get(f)! : null;
    if (!struct && !PRIMITIVES[base] && !['string', 'bytes', 'records'].includes(base)) {
      throw new Error(`${this.spec.name}.${f.name}: unknown type ${f.type}`);
    }
    const present = intersect(parseRange(f.versions), this.msgRange);
    const taggedR = parseRange(f.taggedVersions);
    const tagged = intersect(taggedR, present);
    const inline = taggedR ? intersect(present, taggedR.lo > 0 ? { lo: 0, hi: taggedR.lo - 1 } : null) : present;
    if (taggedR && f.tag === undefined) throw new Error(`${this.spec.name}.${f.name}: taggedVersions without tag`);
    const nullable = intersect(parseRange(f.nullableVersions), present);
    const flexible = f.flexibleVersions !== undefined ? parseRange(f.flexibleVersions) : this.flexRange;
    const everNullable = nullable !== null;
    let elem: string;
    if (struct) elem = struct.iface;
    else if (base === 'string') elem = 'string';
    else if (base === 'bytes') elem = 'Buffer';
    else if (base === 'records') elem = 'Records';
    else elem = PRIMITIVES[base]!.ts;
    if (base === 'records') {
      if (isArray) throw new Error('arrays of records are not supported');
      this.uses.records = true;
    }
    let tsType = isArray ? `${elem}[]` : elem;
    if (everNullable) tsType += ' | null';
    if (everNullable && PRIMITIVES[base] && !isArray) throw new Error(`${this.spec.name}.${f.name}: nullable ${base}`);
    const fi: FieldInfo = {
      f, prop: camel(f.name), isArray, base, struct, present, inline, tagged, nullable, flexible, everNullable, tsType,
      dflt: { kind: 'null' },
    };
    fi.dflt = this.parseDefault(fi);
    return fi;
  }

  private parseDefault(fi: FieldInfo): Default {
    const d = fi.f.default;
    const where = `${this.spec.name}.${fi.f.name}`;
    const isNullDefault = d === 'null';
    if (fi.isArray) {
      if (isNullDefault) return { kind: 'null' };
      if (d !== undefined && d !== '' && d !== '[]') throw new Error(`${where}: unsupported array default ${d}`);
      return { kind: 'emptyArray' };
    }
    if (fi.struct) {
      if (isNullDefault) return { kind: 'null' };
      return { kind: 'struct', def: fi.struct };
    }
    switch (fi.base) {
      case 'records':
        // README: records default to null. A records field that is never nullable (FetchSnapshot's
        // UnalignedRecords) defaults to empty instead, so an omitted value can still be written.
        return fi.everNullable ? { kind: 'null' } : { kind: 'emptyBytes' };
      case 'bytes':
        if (isNullDefault) return { kind: 'null' };
        return { kind: 'emptyBytes' };
      case 'string':
        if (isNullDefault && fi.everNullable) return { kind: 'null' };
        return { kind: 'literal', code: JSON.stringify(d === undefined ? '' : String(d)) };
      case 'uuid':
        this.uses.zeroUuid = true;
        return { kind: 'literal', code: 'ZERO_UUID' };
      case 'bool': {
        if (d === undefined) return { kind: 'literal', code: 'false' };
        const s = String(d).trim().toLowerCase();
        if (s !== 'true' && s !== 'false') throw new Error(`${where}: bad bool default ${d}`);
        return { kind: 'literal', code: s };
      }
      case 'int64': {
        if (d === undefined) return { kind: 'literal', code: '0n' };
        const s = String(d).trim();
        const neg = s.startsWith('-');
        const v = BigInt(neg ? s.slice(1) : s) * (neg ? -1n : 1n);
        if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new Error(`${where}: int64 default out of range`);
        return { kind: 'literal', code: `${v}n` };
      }
      case 'float64': {
        if (d === undefined) return { kind: 'literal', code: '0' };
        const v = Number(String(d).trim());
        if (!Number.isFinite(v)) throw new Error(`${where}: bad float64 default ${d}`);
        return { kind: 'literal', code: Object.is(v, -0) ? '-0' : String(v) };
      }
      default: {
        if (d === undefined) return { kind: 'literal', code: '0' };
        const s = String(d).trim();
        const neg = s.startsWith('-');
        const abs = neg ? s.slice(1) : s;
        const v = (/^0x/i.test(abs) ? parseInt(abs.slice(2), 16) : Number(abs)) * (neg ? -1 : 1);
        const [lo, hi] = INT_RANGES[fi.base]!;
        if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${where}: bad ${fi.base} default ${d}`);
        return { kind: 'literal', code: String(v) };
      }
    }
  }

  // ----- expressions ------------------------------------------------------------------------

  /** A boolean expression for "version is in r", simplified assuming version is within `within`. */
  cond(r: Range | null, within: Range | null): string {
    const i = intersect(r, within);
    if (!i || !within) return 'false';
    if (i.lo <= within.lo && i.hi >= within.hi) return 'true';
    const parts: string[] = [];
    if (i.lo > within.lo) parts.push(`version >= ${i.lo}`);
    if (i.hi < within.hi) parts.push(`version <= ${i.hi}`);
    return parts.join(' && ');
  }

  defaultCode(fi: FieldInfo, forEncode: boolean): string {
    const d = fi.dflt;
    switch (d.kind) {
      case 'null':
        return 'null';
      case 'literal':
        return d.code;
      case 'emptyBytes':
        this.uses.emptyBytes = true;
        return 'EMPTY_BYTES';
      case 'emptyArray':
        return '[]';
      case 'struct':
        if (forEncode) return '{}';
        this.markDefault(d.def);
        return `default${d.def.iface}()`;
    }
  }

  private markDefault(def: StructDef): void {
    if (this.needDefault.has(def)) return;
    this.needDefault.add(def);
    for (const f of def.fields) {
      const fi = this.info(f);
      if (fi.dflt.kind === 'struct') this.markDefault(fi.dflt.def);
    }
  }

  private markIsDefault(def: StructDef): void {
    if (this.needIsDefault.has(def)) return;
    this.needIsDefault.add(def);
    for (const f of def.fields) {
      const fi = this.info(f);
      if (fi.dflt.kind === 'struct') this.markIsDefault(fi.dflt.def);
    }
  }

  /**
   * Expression: `x` (already not undefined) equals the field's default. A null where the type has no
   * null counts as "differs", so the value reaches the writer's null check and an EncodeError.
   */
  eqDefault(fi: FieldInfo, x: string): string {
    const d = fi.dflt;
    switch (d.kind) {
      case 'null':
        return `${x} === null`;
      case 'literal':
        return `${x} === ${d.code}`;
      case 'emptyBytes':
      case 'emptyArray':
        return `(${x} !== null && ${x}.length === 0)`;
      case 'struct':
        this.markIsDefault(d.def);
        return `(${x} !== null && isDefault${d.def.iface}(${x}, version))`;
    }
  }

  private where(def: StructDef, fi: FieldInfo): string {
    return `${def.iface}.${fi.prop}`;
  }

  // ----- decode -----------------------------------------------------------------------------

  /** Statements that read field `fi` from reader `rd` into `target`, in the given encoding. */
  emitRead(c: Code, def: StructDef, fi: FieldInfo, target: string, rd: string, compact: boolean, nullCond: string): void {
    const w = this.where(def, fi);
    const nullErr = `throw new DecodeError('${w}: null is not allowed at version ' + version);`;
    const elemRead = (base: string): string => {
      if (PRIMITIVES[base]) return `${rd}.${PRIMITIVES[base]!.read}()`;
      if (base === 'string') return compact ? `${rd}.compactString()` : `${rd}.string()`;
      if (base === 'bytes') return compact ? `${rd}.compactBytes()` : `${rd}.bytes()`;
      return `decode${fi.struct!.iface}(${rd}, version)`;
    };
    if (fi.isArray) {
      let minBytes = 1;
      if (PRIMITIVES[fi.base]) minBytes = PRIMITIVES[fi.base]!.size;
      else if (fi.base === 'string') minBytes = compact ? 1 : 2;
      else if (fi.base === 'bytes') minBytes = compact ? 1 : 4;
      c.open('{');
      const primitive = PRIMITIVES[fi.base] ? ', true' : '';
      c.line(`const n = ${rd}.${compact ? 'compactArrayLength' : 'arrayLength'}(${minBytes}${primitive});`);
      c.open('if (n < 0) {');
      if (nullCond === 'false') c.line(nullErr);
      else {
        if (nullCond !== 'true') c.line(`if (!(${nullCond})) ${nullErr}`);
        c.line(`${target} = null;`);
      }
      c.mid('} else {');
      const elemTs = fi.tsType.replace(/\[\]( \| null)?$/, '');
      c.line(`const a: ${elemTs}[] = [];`);
      c.line(`for (let i = 0; i < n; i++) a.push(${elemRead(fi.base)});`);
      c.line(`${target} = a;`);
      c.close();
      c.close();
      return;
    }
    if (fi.struct) {
      const call = `decode${fi.struct.iface}(${rd}, version)`;
      if (nullCond === 'false') c.line(`${target} = ${call};`);
      else if (nullCond === 'true') c.line(`${target} = ${rd}.int8() < 0 ? null : ${call};`);
      else c.line(`${target} = (${nullCond}) && ${rd}.int8() < 0 ? null : ${call};`);
      return;
    }
    if (PRIMITIVES[fi.base]) {
      c.line(`${target} = ${elemRead(fi.base)};`);
      return;
    }
    // string, bytes, records
    const kind = fi.base === 'string' ? 'String' : 'Bytes';
    const nn = compact ? `compact${kind}` : kind.toLowerCase();
    const nl = compact ? `compactNullable${kind}` : `nullable${kind}`;
    if (nullCond === 'false') c.line(`${target} = ${rd}.${nn}();`);
    else if (nullCond === 'true') c.line(`${target} = ${rd}.${nl}();`);
    else c.line(`${target} = (${nullCond}) ? ${rd}.${nl}() : ${rd}.${nn}();`);
  }

  /** Read a field present in range `r`, choosing compact/classic encoding per version. */
  emitReadIn(c: Code, def: StructDef, fi: FieldInfo, target: string, rd: string, r: Range): void {
    // Fixed-width values and inline structs are written the same way in both encodings.
    const encodingFree = !fi.isArray && (PRIMITIVES[fi.base] !== undefined || fi.struct !== null);
    const compact = encodingFree ? 'false' : this.cond(fi.flexible, r);
    const nullCond = this.cond(fi.nullable, r);
    if (compact === 'true' || compact === 'false') {
      this.emitRead(c, def, fi, target, rd, compact === 'true', nullCond);
    } else {
      const flexPart = intersect(r, fi.flexible)!;
      const classicPart: Range = { lo: r.lo, hi: flexPart.lo - 1 };
      c.open(`if (${compact}) {`);
      this.emitRead(c, def, fi, target, rd, true, this.cond(fi.nullable, flexPart));
      c.mid('} else {');
      this.emitRead(c, def, fi, target, rd, false, this.cond(fi.nullable, classicPart));
      c.close();
    }
  }

  emitDecode(c: Code, def: StructDef): void {
    const infos = def.fields.map((f) => this.info(f));
    c.open(`function decode${def.iface}(r: Reader, version: number): ${def.iface} {`);
    infos.forEach((fi, i) => {
      const t = `f${i}`;
      const presentCond = this.cond(fi.inline, this.msgRange);
      if (presentCond === 'false') {
        c.line(`let ${t}: ${fi.tsType} = ${this.defaultCode(fi, false)};`);
      } else if (presentCond === 'true') {
        const tmp = new Code();
        this.emitReadIn(tmp, def, fi, t, 'r', fi.inline!);
        const single = tmp.lines.length === 1 && tmp.lines[0]!.startsWith(`${t} = `);
        if (single && fi.tagged === null) c.line(`const ${t}: ${fi.tsType} = ${tmp.lines[0]!.slice(t.length + 3)}`);
        else {
          c.line(`let ${t}: ${fi.tsType};`);
          for (const l of tmp.lines) c.line(l);
        }
      } else {
        c.line(`let ${t}: ${fi.tsType};`);
        c.open(`if (${presentCond}) {`);
        this.emitReadIn(c, def, fi, t, 'r', fi.inline!);
        c.mid('} else {');
        c.line(`${t} = ${this.defaultCode(fi, false)};`);
        c.close();
      }
    });
    const flexCond = this.cond(this.flexRange, this.msgRange);
    if (flexCond !== 'false') {
      const tagged = infos
        .map((fi, i) => ({ fi, i }))
        .filter(({ fi }) => fi.tagged !== null)
        .sort((a, b) => a.fi.f.tag! - b.fi.f.tag!);
      if (flexCond !== 'true') c.open(`if (${flexCond}) {`);
      c.line('const nt = r.uvarint();');
      c.open('for (let ti = 0; ti < nt; ti++) {');
      if (tagged.length === 0) {
        c.line('r.uvarint();');
        c.line('r.skip(r.uvarint());');
      } else {
        this.uses.readerValue = true;
        c.line('const tag = r.uvarint();');
        c.line('const size = r.uvarint();');
        c.line('const start = r.offset;');
        c.line('r.skip(size);');
        c.open('switch (tag) {');
        for (const { fi, i } of tagged) {
          c.open(`case ${fi.f.tag}: {`);
          const tc = this.cond(fi.tagged, this.msgRange);
          if (tc !== 'true') c.open(`if (${tc}) {`);
          c.line('const t = new Reader(r.buf, start, start + size);');
          this.emitReadIn(c, def, fi, `f${i}`, 't', fi.tagged!);
          c.line(`if (t.remaining !== 0) throw new DecodeError('${this.where(def, fi)}: tagged field has ' + t.remaining + ' extra bytes');`);
          if (tc !== 'true') c.close();
          c.line('break;');
          c.close();
        }
        c.line('default:');
        c.line('  break;');
        c.close();
      }
      c.close();
      if (flexCond !== 'true') c.close();
    }
    if (infos.length === 0) c.line('return {};');
    else {
      c.open('return {');
      infos.forEach((fi, i) => c.line(`${fi.prop}: f${i},`));
      c.close('};');
    }
    c.close();
  }

  // ----- encode -----------------------------------------------------------------------------

  emitWrite(c: Code, def: StructDef, fi: FieldInfo, x: string, wr: string, compact: boolean, nullCond: string): void {
    const w = this.where(def, fi);
    const nullErr = `throw new EncodeError('${w}: null is not allowed at version ' + version);`;
    const nullCheck = (): void => {
      if (nullCond === 'false' || !fi.everNullable) c.line(`if (${x} === null) ${nullErr}`);
      else if (nullCond !== 'true') c.line(`if (${x} === null && !(${nullCond})) ${nullErr}`);
    };
    const elemWrite = (e: string): string => {
      if (PRIMITIVES[fi.base]) return `${wr}.${PRIMITIVES[fi.base]!.read}(${e});`;
      if (fi.base === 'string') return compact ? `${wr}.compactString(${e});` : `${wr}.string(${e});`;
      if (fi.base === 'bytes') return compact ? `${wr}.compactBytes(${e});` : `${wr}.bytes(${e});`;
      return `encode${fi.struct!.iface}(${wr}, ${e}, version);`;
    };
    if (fi.isArray) {
      if (fi.everNullable) {
        c.open(`if (${x} === null) {`);
        if (nullCond === 'false') c.line(nullErr);
        else if (nullCond !== 'true') c.line(`if (!(${nullCond})) ${nullErr}`);
        c.line(compact ? `${wr}.uvarint(0);` : `${wr}.int32(-1);`);
        c.mid('} else {');
      } else {
        c.line(`if (${x} === null) ${nullErr}`);
        c.open('{');
      }
      c.line(`${wr}.${compact ? 'compactArrayLength' : 'arrayLength'}(${x}.length);`);
      c.line(`for (const e of ${x}) ${elemWrite('e')}`);
      c.close();
      return;
    }
    if (fi.struct) {
      const call = `encode${fi.struct.iface}(${wr}, ${x}, version);`;
      if (!fi.everNullable) {
        c.line(`if (${x} === null) ${nullErr}`);
        c.line(call);
        return;
      }
      c.open(`if (${x} === null) {`);
      if (nullCond === 'false') c.line(nullErr);
      else {
        if (nullCond !== 'true') c.line(`if (!(${nullCond})) ${nullErr}`);
        c.line(`${wr}.int8(-1);`);
      }
      c.mid('} else {');
      if (nullCond === 'true') c.line(`${wr}.int8(1);`);
      else if (nullCond !== 'false') c.line(`if (${nullCond}) ${wr}.int8(1);`);
      c.line(call);
      c.close();
      return;
    }
    if (PRIMITIVES[fi.base]) {
      c.line(elemWrite(x));
      return;
    }
    if (fi.base === 'records') {
      nullCheck();
      c.line(`${wr}.nullableRecords(${x}, ${compact});`);
      return;
    }
    const kind = fi.base === 'string' ? 'String' : 'Bytes';
    nullCheck();
    if (fi.everNullable) {
      c.line(`${wr}.${compact ? `compactNullable${kind}` : `nullable${kind}`}(${x});`);
    } else {
      c.line(`${wr}.${compact ? `compact${kind}` : kind.toLowerCase()}(${x});`);
    }
  }

  emitWriteIn(c: Code, def: StructDef, fi: FieldInfo, x: string, wr: string, r: Range): void {
    // Fixed-width values and inline structs are written the same way in both encodings.
    const encodingFree = !fi.isArray && (PRIMITIVES[fi.base] !== undefined || fi.struct !== null);
    const compact = encodingFree ? 'false' : this.cond(fi.flexible, r);
    const nullCond = this.cond(fi.nullable, r);
    if (compact === 'true' || compact === 'false') {
      this.emitWrite(c, def, fi, x, wr, compact === 'true', nullCond);
    } else {
      const flexPart = intersect(r, fi.flexible)!;
      const classicPart: Range = { lo: r.lo, hi: flexPart.lo - 1 };
      c.open(`if (${compact}) {`);
      this.emitWrite(c, def, fi, x, wr, true, this.cond(fi.nullable, flexPart));
      c.mid('} else {');
      this.emitWrite(c, def, fi, x, wr, false, this.cond(fi.nullable, classicPart));
      c.close();
    }
  }

  private valueLine(fi: FieldInfo, x: string): string {
    return `const ${x}: Init<${fi.tsType}> = v.${fi.prop} === undefined ? ${this.defaultCode(fi, true)} : v.${fi.prop};`;
  }

  emitEncode(c: Code, def: StructDef): void {
    const infos = def.fields.map((f) => this.info(f));
    c.open(`function encode${def.iface}(w: Writer, v: Init<${def.iface}>, version: number): void {`);
    infos.forEach((fi, i) => {
      const presentCond = this.cond(fi.inline, this.msgRange);
      if (presentCond === 'false') return;
      const x = `x${i}`;
      if (presentCond !== 'true') c.open(`if (${presentCond}) {`);
      c.line(this.valueLine(fi, x));
      this.emitWriteIn(c, def, fi, x, 'w', fi.inline!);
      if (presentCond !== 'true') c.close();
    });
    const flexCond = this.cond(this.flexRange, this.msgRange);
    if (flexCond !== 'false') {
      const tagged = infos
        .map((fi, i) => ({ fi, i }))
        .filter(({ fi }) => fi.tagged !== null)
        .sort((a, b) => a.fi.f.tag! - b.fi.f.tag!);
      if (tagged.length === 0) {
        c.line(flexCond === 'true' ? 'w.uvarint(0);' : `if (${flexCond}) w.uvarint(0);`);
      } else {
        this.uses.writerValue = true;
        if (flexCond !== 'true') c.open(`if (${flexCond}) {`);
        c.line('let nt = 0;');
        for (const { fi, i } of tagged) {
          const tc = this.cond(fi.tagged, this.msgRange);
          const x = `x${i}`;
          c.line(`let b${i}: Buffer | undefined;`);
          if (tc !== 'true') c.open(`if (${tc}) {`);
          else c.open('{');
          c.line(this.valueLine(fi, x));
          c.open(`if (!(${this.eqDefault(fi, x)})) {`);
          c.line('const tw = new Writer(64);');
          this.emitWriteIn(c, def, fi, x, 'tw', fi.tagged!);
          c.line(`b${i} = tw.toBuffer();`);
          c.line('nt++;');
          c.close();
          c.close();
        }
        c.line('w.uvarint(nt);');
        for (const { fi, i } of tagged) {
          c.line(`if (b${i} !== undefined) w.uvarint(${fi.f.tag}).uvarint(b${i}.length).raw(b${i});`);
        }
        if (flexCond !== 'true') c.close();
      }
    }
    c.close();
  }

  emitDefault(c: Code, def: StructDef): void {
    const infos = def.fields.map((f) => this.info(f));
    c.open(`function default${def.iface}(): ${def.iface} {`);
    if (infos.length === 0) c.line('return {};');
    else {
      c.open('return {');
      for (const fi of infos) c.line(`${fi.prop}: ${this.defaultCode(fi, false)},`);
      c.close('};');
    }
    c.close();
  }

  emitIsDefault(c: Code, def: StructDef): void {
    const infos = def.fields.map((f) => this.info(f));
    c.open(`function isDefault${def.iface}(v: Init<${def.iface}>, version: number): boolean {`);
    for (const fi of infos) {
      const pc = this.cond(fi.present, this.msgRange);
      if (pc === 'false') continue;
      const test = `v.${fi.prop} !== undefined && !(${this.eqDefault(fi, `v.${fi.prop}`)})`;
      c.line(`if (${pc === 'true' ? '' : `${pc} && `}${test}) return false;`);
    }
    c.line('return true;');
    c.close();
  }

  emitInterface(c: Code, def: StructDef): void {
    const infos = def.fields.map((f) => this.info(f));
    c.open(`export interface ${def.iface} {`);
    for (const fi of infos) c.line(`${fi.prop}: ${fi.tsType};`);
    c.close();
  }

  /** Everything for this message: interfaces, codec const, then the module-local functions. */
  generate(): string[] {
    const { spec } = this;
    const decls = new Code();
    for (const s of this.structs) {
      this.emitInterface(decls, s);
      decls.line('');
    }
    const r = this.msgRange;
    decls.open(`export const ${spec.name}: MessageCodec<${spec.name}> = {`);
    decls.line(`name: '${spec.name}',`);
    decls.line(`apiKey: ${spec.apiKey ?? -1},`);
    decls.line(`minVersion: ${r.lo},`);
    decls.line(`maxVersion: ${r.hi},`);
    decls.line(`flexibleMinVersion: ${this.flexibleMinVersion},`);
    decls.open('decode(r: Reader, version: number): ' + spec.name + ' {');
    decls.line(`if (!(version >= ${r.lo} && version <= ${r.hi})) throw new DecodeError('${spec.name}: unsupported version ' + version);`);
    decls.line(`return decode${spec.name}(r, version);`);
    decls.close('},');
    decls.open(`encode(w: Writer, value: Init<${spec.name}>, version: number): void {`);
    decls.line(`if (!(version >= ${r.lo} && version <= ${r.hi})) throw new EncodeError('${spec.name}: unsupported version ' + version);`);
    decls.line(`encode${spec.name}(w, value, version);`);
    decls.close('},');
    decls.close('};');
    decls.line('');
    const fns = new Code();
    for (const s of this.structs) {
      this.emitDecode(fns, s);
      fns.line('');
      this.emitEncode(fns, s);
      fns.line('');
    }
    // Helpers discovered while emitting (the mark* functions already close over nested structs).
    const helpers = new Code();
    for (const s of this.structs) {
      if (this.needDefault.has(s)) {
        this.emitDefault(helpers, s);
        helpers.line('');
      }
      if (this.needIsDefault.has(s)) {
        this.emitIsDefault(helpers, s);
        helpers.line('');
      }
    }
    return [...decls.lines, ...fns.lines, ...helpers.lines];
  }

  /** Names this message exports (for collision checks). */
  exportedNames(): string[] {
    return this.structs.map((s) => s.iface);
  }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

const HEADER = '// Generated by scripts/gen-protocol.ts from the Kafka JSON message specs. Do not edit.';

function fileFor(specs: MessageSpec[], exported: Map<string, string>, fileName: string): string {
  const uses: FileUses = { readerValue: false, writerValue: false, records: false, zeroUuid: false, emptyBytes: false };
  const body: string[] = [];
  for (const spec of specs) {
    const g = new MessageGen(spec, uses);
    for (const n of g.exportedNames()) {
      const prev = exported.get(n);
      if (prev !== undefined) throw new Error(`exported name ${n} is defined in both ${prev} and ${fileName}`);
      exported.set(n, fileName);
    }
    body.push(...g.generate());
  }
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  const lines = [
    HEADER,
    `// Sources: ${specs.map((s) => s.name + '.json').join(', ')}`,
    `import { DecodeError, EncodeError } from '../codec/errors.js';`,
    `import type { Init, MessageCodec } from '../codec/message.js';`,
    `import ${uses.readerValue ? '' : 'type '}{ Reader } from '../codec/reader.js';`,
    uses.writerValue
      ? `import { Writer${uses.records ? ', type Records' : ''} } from '../codec/writer.js';`
      : `import type { ${uses.records ? 'Records, ' : ''}Writer } from '../codec/writer.js';`,
  ];
  if (uses.zeroUuid) lines.push(`import { ZERO_UUID } from '../codec/uuid.js';`);
  lines.push('');
  if (uses.emptyBytes) {
    lines.push('const EMPTY_BYTES: Buffer = Buffer.alloc(0);');
    lines.push('');
  }
  lines.push(...body, '');
  return lines.join('\n');
}

/** A PascalCase identifier for a generated file's module namespace: `produce.ts` → `ProduceModule`. */
function moduleAlias(file: string): string {
  return file.replace(/\.ts$/, '').split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('') + 'Module';
}

/**
 * index.ts: every message's types, and every codec as a lazy codec (src/protocol/codec/lazy.ts) that
 * loads its generated module on first encode/decode, so importing the index (as the broker and the
 * client do) loads two header modules rather than all 99. The request and response headers are
 * needed by every request, so they are exported as they are. Each lazy codec also gets an import()
 * loader, for runtimes whose module sandbox refuses require() of an ES module (lazy.ts).
 */
function indexFile(requests: MessageSpec[], responses: Map<number, MessageSpec>, groups: Map<string, MessageSpec[]>): string {
  const files = [...groups.keys()].sort();
  const eager = (f: string) => groups.get(f)!.every((spec) => spec.type === 'header');
  const lazy = files.filter((f) => !eager(f));
  const L: string[] = [
    HEADER,
    `import { createRequire } from 'node:module';`,
    `import type { MessageCodec } from '../codec/message.js';`,
    `import { lazyCodec } from '../codec/lazy.js';`,
  ];
  for (const f of lazy) L.push(`import type * as ${moduleAlias(f)} from './${f.replace(/\.ts$/, '.js')}';`);
  L.push('');
  for (const f of files) L.push(`export ${eager(f) ? '' : 'type '}* from './${f.replace(/\.ts$/, '.js')}';`);
  L.push('');
  L.push('const require = createRequire(import.meta.url);');
  for (const f of lazy) {
    const alias = moduleAlias(f);
    for (const spec of groups.get(f)!) {
      const r = parseRange(spec.validVersions)!;
      const fr = parseRange(spec.flexibleVersions);
      L.push('');
      L.push(`export type ${spec.name} = ${alias}.${spec.name};`);
      L.push(
        `export const ${spec.name}: MessageCodec<${spec.name}> = lazyCodec(` +
          `{ name: '${spec.name}', apiKey: ${spec.apiKey ?? -1}, minVersion: ${r.lo}, maxVersion: ${r.hi}, flexibleMinVersion: ${fr ? fr.lo : -1} }, ` +
          `() => (require('./${f.replace(/\.ts$/, '.js')}') as typeof ${alias}).${spec.name}, ` +
          `async () => ((await import('./${f.replace(/\.ts$/, '.js')}')) as typeof ${alias}).${spec.name});`,
      );
    }
  }
  L.push('');
  L.push('export interface ApiSpec {');
  L.push('  apiKey: number;');
  L.push(`  /** API name without the Request/Response suffix, e.g. 'Produce'. */`);
  L.push('  name: string;');
  L.push('  request: MessageCodec<any>;');
  L.push('  response: MessageCodec<any>;');
  L.push('  minVersion: number;');
  L.push('  maxVersion: number;');
  L.push('  /** First flexible version, or -1 when the API is never flexible. */');
  L.push('  flexibleMinVersion: number;');
  L.push('  /** The highest version is still under development: do not advertise it. */');
  L.push('  latestVersionUnstable: boolean;');
  L.push(`  /** Server roles that accept the API ('zkBroker', 'broker', 'controller'). */`);
  L.push('  listeners: readonly string[];');
  L.push('}');
  L.push('');
  L.push('export const ApiKey = {');
  for (const req of requests) L.push(`  ${apiName(req)}: ${req.apiKey},`);
  L.push('} as const;');
  L.push('export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];');
  L.push('');
  L.push('export const API_SPECS: ReadonlyMap<number, ApiSpec> = new Map<number, ApiSpec>([');
  for (const req of requests) {
    const res = responses.get(req.apiKey!)!;
    const vr = parseRange(req.validVersions)!;
    const fr = parseRange(req.flexibleVersions);
    L.push(
      `  [${req.apiKey}, { apiKey: ${req.apiKey}, name: '${apiName(req)}', request: ${req.name}, response: ${res.name}, ` +
        `minVersion: ${vr.lo}, maxVersion: ${vr.hi}, flexibleMinVersion: ${fr ? fr.lo : -1}, ` +
        `latestVersionUnstable: ${req.latestVersionUnstable === true}, listeners: [${(req.listeners ?? []).map((l) => `'${l}'`).join(', ')}] }],`,
    );
  }
  L.push(']);');
  L.push('');
  L.push('/**');
  L.push(' * Request header version for a request: 2 when the request version is flexible, else 1;');
  L.push(' * ControlledShutdown v0 uses 0. Unknown API keys get 1 (ClientId is a classic string in v1 and v2,');
  L.push(' * so a v1 parse of an unknown request still yields the correlation id and client id).');
  L.push(' */');
  L.push('export function requestHeaderVersion(apiKey: number, apiVersion: number): number {');
  L.push('  if (apiKey === 7 && apiVersion === 0) return 0;');
  L.push('  const spec = API_SPECS.get(apiKey);');
  L.push('  if (spec === undefined) return 1;');
  L.push('  return spec.flexibleMinVersion >= 0 && apiVersion >= spec.flexibleMinVersion ? 2 : 1;');
  L.push('}');
  L.push('');
  L.push('/**');
  L.push(' * Response header version: 1 when the response version is flexible, else 0. ApiVersions (18)');
  L.push(' * always uses 0 so that any client can read it (KIP-511).');
  L.push(' */');
  L.push('export function responseHeaderVersion(apiKey: number, apiVersion: number): number {');
  L.push('  if (apiKey === 18) return 0;');
  L.push('  const spec = API_SPECS.get(apiKey);');
  L.push('  if (spec === undefined) return 0;');
  L.push('  return spec.flexibleMinVersion >= 0 && apiVersion >= spec.flexibleMinVersion ? 1 : 0;');
  L.push('}');
  L.push('');
  return L.join('\n');
}

/** Generate every output file: relative file name → contents. Deterministic (sorted). */
export function generate(specs: readonly MessageSpec[]): Map<string, string> {
  const groups = new Map<string, MessageSpec[]>();
  const requests: MessageSpec[] = [];
  const responses = new Map<number, MessageSpec>();
  for (const spec of specs) {
    // Kafka 4 keeps the specs of removed APIs (the ZooKeeper-era inter-broker calls) with
    // `validVersions: "none"`: there is nothing to encode, so they get no codec.
    if (spec.validVersions === 'none') continue;
    let file: string;
    if (spec.type === 'request' || spec.type === 'response') {
      if (typeof spec.apiKey !== 'number') throw new Error(`${spec.name}: missing apiKey`);
      file = kebab(apiName(spec)) + '.ts';
      if (spec.type === 'request') requests.push(spec);
      else responses.set(spec.apiKey, spec);
    } else if (spec.type === 'header' || spec.type === 'data') {
      file = kebab(spec.name) + '.ts';
    } else {
      throw new Error(`${(spec as MessageSpec).name}: unknown spec type ${(spec as MessageSpec).type}`);
    }
    const list = groups.get(file) ?? [];
    list.push(spec);
    groups.set(file, list);
  }
  requests.sort((a, b) => a.apiKey! - b.apiKey!);
  for (const req of requests) {
    if (!responses.has(req.apiKey!)) throw new Error(`${req.name}: no response spec`);
  }
  const order = { header: 0, request: 1, response: 2, data: 3 };
  const out = new Map<string, string>();
  const exported = new Map<string, string>();
  const fileNames = [...groups.keys()].sort();
  for (const file of fileNames) {
    const list = groups.get(file)!.sort((a, b) => order[a.type] - order[b.type] || (a.name < b.name ? -1 : 1));
    out.set(file, fileFor(list, exported, file));
  }
  for (const n of ['ApiSpec', 'ApiKey', 'API_SPECS', 'requestHeaderVersion', 'responseHeaderVersion', 'require', ...fileNames.map(moduleAlias)]) {
    if (exported.has(n)) throw new Error(`exported name ${n} collides with index.ts`);
  }
  if (out.has('index.ts')) throw new Error('a spec would generate index.ts');
  out.set('index.ts', indexFile(requests, responses, groups));
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

/** The repository root, from this module's location (dist/scripts → two levels up). */
export function repoRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url));
}

export function defaultOutDir(): string {
  return resolve(repoRoot(), 'src/protocol/messages');
}

async function main(argv: string[]): Promise<number> {
  let specDir: string | null = null;
  let outDir = defaultOutDir();
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--spec-dir') specDir = resolve(argv[++i] ?? '');
    else if (a === '--out') outDir = resolve(argv[++i] ?? '');
    else if (a === '--check') check = true;
    else {
      process.stderr.write(`usage: gen-protocol [--spec-dir DIR] [--out DIR] [--check]\nunknown argument: ${a}\n`);
      return 2;
    }
  }
  let specs: MessageSpec[];
  if (specDir !== null) {
    if (!existsSync(specDir)) {
      process.stderr.write(`gen-protocol: spec directory not found: ${specDir}\n`);
      return 2;
    }
    specs = loadSpecs(specDir);
  } else {
    try {
      specs = await loadJarSpecs();
    } catch (e) {
      process.stderr.write(`gen-protocol: cannot read the specs of ${KAFKA_SPECS_SOURCE}: ${(e as Error).message}\n(use --spec-dir DIR for a folder of Kafka's message specs)\n`);
      return 2;
    }
  }
  const files = generate(specs);
  const stale = existsSync(outDir)
    ? readdirSync(outDir).filter(
        (f) => f.endsWith('.ts') && !files.has(f) && readFileSync(join(outDir, f), 'utf8').startsWith(HEADER),
      )
    : [];
  if (check) {
    const differ: string[] = [];
    for (const [name, text] of files) {
      const p = join(outDir, name);
      if (!existsSync(p) || readFileSync(p, 'utf8') !== text) differ.push(name);
    }
    differ.push(...stale.map((f) => `${f} (stale)`));
    if (differ.length > 0) {
      process.stderr.write(`generated protocol files are out of date in ${outDir}:\n${differ.map((d) => `  ${d}\n`).join('')}`);
      return 1;
    }
    process.stdout.write(`${files.size} generated protocol files are up to date\n`);
    return 0;
  }
  mkdirSync(outDir, { recursive: true });
  let written = 0;
  for (const [name, text] of files) {
    const p = join(outDir, name);
    if (existsSync(p) && readFileSync(p, 'utf8') === text) continue;
    writeFileSync(p, text);
    written++;
  }
  for (const f of stale) unlinkSync(join(outDir, f));
  process.stdout.write(`${files.size} protocol files (${written} written, ${stale.length} stale removed) in ${outDir}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
