// Security CA: the stored CA state (roots in the trust bundle, which one signs, rotation phase) and its pure rotation steps.
import { z } from 'zod';
import { WeftError } from '../../core/index.js';

/**
 * Rotation, as explicit phases so that an API can drive it and sidecars receive the new root before it signs anything:
 * - `steady`: the bundle holds one root, which signs.
 * - `new-root-trusted`: a new root is in the bundle next to the old one; the old one still signs. Sidecars pick up the
 *   two-root bundle during this phase.
 * - `new-root-signing`: the new root signs; the old one stays in the bundle until every leaf it signed has expired.
 * Retiring the old root returns to `steady` with the new root alone.
 */
export type RotationPhase = 'steady' | 'new-root-trusted' | 'new-root-signing';

export interface StoredAuthority {
  readonly id: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface CaStateDocument {
  readonly format: 1;
  readonly trustDomain: string;
  /** Every root in the trust bundle, oldest first. */
  readonly authorities: readonly StoredAuthority[];
  readonly phase: RotationPhase;
  /** Id of the root that signs leaves. */
  readonly signingId: string;
  /** Wall-clock ms when the current phase began, for automatic steps. */
  readonly phaseSince: number;
  /** Counts changes; the file store uses it for compare-and-set. */
  readonly revision: number;
}

const storedAuthority = z.strictObject({ id: z.string().min(1), certificatePem: z.string().min(1), privateKeyPem: z.string().min(1) });
const documentSchema = z
  .strictObject({
    format: z.literal(1),
    trustDomain: z.string().min(1),
    authorities: z.array(storedAuthority).min(1).max(2),
    phase: z.enum(['steady', 'new-root-trusted', 'new-root-signing']),
    signingId: z.string().min(1),
    phaseSince: z.number().int().nonnegative(),
    revision: z.number().int().nonnegative(),
  })
  .refine((doc) => doc.authorities.some((a) => a.id === doc.signingId), 'signingId must name a stored authority')
  .refine((doc) => (doc.phase === 'steady' ? doc.authorities.length === 1 : doc.authorities.length === 2), 'a steady CA holds one root, a rotating CA two');

/** A rotation step was asked for in a phase where it does not apply. */
export class RotationPhaseError extends WeftError {
  constructor(step: string, phase: RotationPhase, expected: RotationPhase) {
    super('CONFLICT', `cannot ${step} while the CA is in phase "${phase}"; expected "${expected}"`, { details: { step, phase, expected } });
  }
}

export function initialState(trustDomain: string, root: StoredAuthority, nowMs: number): CaStateDocument {
  return { format: 1, trustDomain, authorities: [root], phase: 'steady', signingId: root.id, phaseSince: nowMs, revision: 1 };
}

/** Step (a)+(b): adds the new root to the bundle; the old one keeps signing. */
export function beginRotation(state: CaStateDocument, newRoot: StoredAuthority, nowMs: number): CaStateDocument {
  if (state.phase !== 'steady') throw new RotationPhaseError('start a rotation', state.phase, 'steady');
  return { ...state, authorities: [...state.authorities, newRoot], phase: 'new-root-trusted', phaseSince: nowMs, revision: state.revision + 1 };
}

/** Step (c): the new root signs from now on. */
export function activateNewRoot(state: CaStateDocument, nowMs: number): CaStateDocument {
  if (state.phase !== 'new-root-trusted') throw new RotationPhaseError('activate the new root', state.phase, 'new-root-trusted');
  const newest = state.authorities[state.authorities.length - 1] as StoredAuthority;
  return { ...state, phase: 'new-root-signing', signingId: newest.id, phaseSince: nowMs, revision: state.revision + 1 };
}

/** Step (d): the old root leaves the bundle; certificates it signed stop verifying. */
export function retireOldRoot(state: CaStateDocument, nowMs: number): CaStateDocument {
  if (state.phase !== 'new-root-signing') throw new RotationPhaseError('retire the old root', state.phase, 'new-root-signing');
  return { ...state, authorities: state.authorities.filter((a) => a.id === state.signingId), phase: 'steady', phaseSince: nowMs, revision: state.revision + 1 };
}

/** Delays after which `advance` takes a step by itself; undefined leaves that step to an explicit call. */
export interface RotationSchedule {
  /** After the new root entered the bundle: long enough for every sidecar to have fetched the two-root bundle. */
  readonly activateAfterMs?: number;
  /** After the new root began signing: at least the leaf lifetime plus the clock-skew backdate, so no live leaf hangs from the old root. */
  readonly retireAfterMs?: number;
}

/** The state after every step the schedule says is due at `nowMs` (possibly the same state). */
export function advanceBySchedule(state: CaStateDocument, schedule: RotationSchedule, nowMs: number): CaStateDocument {
  let current = state;
  if (current.phase === 'new-root-trusted' && schedule.activateAfterMs !== undefined && nowMs - current.phaseSince >= schedule.activateAfterMs) {
    current = activateNewRoot(current, nowMs);
  }
  if (current.phase === 'new-root-signing' && schedule.retireAfterMs !== undefined && nowMs - current.phaseSince >= schedule.retireAfterMs) {
    current = retireOldRoot(current, nowMs);
  }
  return current;
}

export function encodeState(state: CaStateDocument): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(state, null, 2));
}

/** Parses stored bytes; `where` names the storage (file or key) in the error. */
export function decodeState(bytes: Uint8Array, where: string): CaStateDocument {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new WeftError('STORE_CORRUPT', `CA state at ${where} is not JSON: ${(error as Error).message}`);
  }
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WeftError('STORE_CORRUPT', `CA state at ${where} is invalid${issue ? ` at ${issue.path.join('.') || '(root)'}: ${issue.message}` : ''}`);
  }
  return parsed.data;
}
