// Config: YAML policy files (one or several `---` documents of any policy kind) -> validated policies; errors name file, document, path and expectation.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ConfigError } from '../core/index.js';
import type { z } from 'zod';
import {
  kindPolicyWriteProblem,
  ALL_POLICY_KINDS,
  fieldPath,
  isPolicyKind,
  POLICY_KIND,
  POLICY_KIND_TABLE,
  servicePolicySchema,
  type KindPolicy,
  type ServicePolicy,
} from '../model/index.js';

/** A policy of any kind, as files and `weft get` carry them. */
export type AnyPolicy = ServicePolicy | KindPolicy;

/** A policy read from a file, with where it came from for later messages (e.g. a refusal by the server). */
export interface PolicyDocument {
  readonly policy: AnyPolicy;
  /** "policies.yaml", or "policies.yaml (document 2)" when the file holds several documents. */
  readonly source: string;
}

/** The name that stands for standard input in `-f -`. */
export const STDIN_FILE = '-';

// The YAML parser is loaded when a policy file is first read, not by every process that imports the config module.
const require = createRequire(import.meta.url);
function parseAllDocuments(text: string, options: { prettyErrors: boolean; uniqueKeys: boolean }): ReturnType<typeof import('yaml').parseAllDocuments> {
  return (require('yaml') as typeof import('yaml')).parseAllDocuments(text, options);
}

/** Reads a policy file (or standard input for "-") and validates every document in it. */
export async function loadPolicyFile(file: string, readStdin: () => Promise<string> = readAllStdin): Promise<PolicyDocument[]> {
  let text: string;
  try {
    text = file === STDIN_FILE ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', `cannot read file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parsePolicyText(file === STDIN_FILE ? 'stdin' : file, text);
}

/** Parses YAML text holding one or more policy documents of any kind; empty documents are skipped. Each kind may name a service once. */
export function parsePolicyText(name: string, text: string): PolicyDocument[] {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(docs)) return []; // an empty stream: nothing but comments or whitespace
  const sourceOf = (index: number) => (docs.length > 1 ? `${name} (document ${index + 1})` : name);
  const out: PolicyDocument[] = [];
  const seen = new Map<string, string>();
  docs.forEach((doc, index) => {
    const source = sourceOf(index);
    const yamlError = doc.errors[0];
    if (yamlError) {
      const line = yamlError.linePos?.[0];
      throw new ConfigError(source, line ? `line ${line.line}, column ${line.col}` : '', `expected valid YAML (${yamlError.code})`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const policy = validatePolicyDocument(source, value);
    const identity = policyIdentity(policy);
    const earlier = seen.get(identity);
    if (earlier !== undefined) throw duplicateError(source, policy, earlier);
    seen.set(identity, source);
    out.push({ policy, source });
  });
  if (out.length === 0) throw new ConfigError(name, '', `expected at least one policy document (kind: ${ALL_POLICY_KINDS.join(' or ')})`);
  return out;
}

/** What may appear once across the files applied together: a kind and a service. */
export function policyIdentity(policy: AnyPolicy): string {
  return `${policy.kind}/${policy.service}`;
}

export function duplicateError(source: string, policy: AnyPolicy, earlier: string): ConfigError {
  return new ConfigError(source, 'service', `expected each service once per kind; ${policy.kind} "${policy.service}" is already defined in ${earlier}`);
}

/** Validates one document; unlike an API body, a file must say its kind (`kind: ServicePolicy`, `kind: AuthorizationPolicy`, ...). */
export function validatePolicyDocument(source: string, value: unknown): AnyPolicy {
  const kinds = ALL_POLICY_KINDS.map((kind) => `"${kind}"`).join(' or ');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(source, '(top level)', `expected a policy mapping with kind ${kinds}`);
  const kind = (value as { kind?: unknown }).kind;
  if (kind === POLICY_KIND) return validateWith(source, servicePolicySchema, value);
  if (isPolicyKind(kind)) {
    const policy = validateWith(source, POLICY_KIND_TABLE[kind].schema, value) as KindPolicy;
    const problem = kindPolicyWriteProblem(policy);
    if (problem !== undefined) throw new ConfigError(source, problem.field, problem.message);
    return policy;
  }
  throw new ConfigError(source, 'kind', `expected ${kinds}`);
}

function validateWith<S extends z.ZodType>(source: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    throw new ConfigError(source, fieldPath([...issue.path, issue.keys[0] ?? '']), 'unknown key; expected one of the documented policy fields (docs/policies.md)');
  }
  throw new ConfigError(source, fieldPath(issue.path) || '(top level)', issue.message);
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
