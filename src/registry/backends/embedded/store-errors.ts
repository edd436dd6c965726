// Embedded store: errors that name the file and offset involved, so an operator can find the damage.
import { WeftError } from '../../../core/index.js';

export class StoreCorruptError extends WeftError {
  constructor(file: string, offset: number, reason: string) {
    super('STORE_CORRUPT', `${file}: corrupt record at offset ${offset} (${reason}) followed by valid records; refusing to drop acknowledged data`, {
      details: { file, offset },
    });
  }
}

/** Who holds a data dir's lock, as its lock socket says: the pid is the one in the holder's own PID namespace. */
export interface LockHolder {
  pid: number;
  /** When it took the lock (ISO 8601), which tells a PID 1 in one container from a PID 1 in another. */
  since?: string;
}

export class StoreLockedError extends WeftError {
  constructor(dir: string, lock: string, holder: LockHolder | undefined) {
    const who = holder === undefined ? 'another process' : `process ${holder.pid}${holder.since === undefined ? '' : ` since ${holder.since}`}`;
    super('CONFLICT', `data dir ${dir} is in use by ${who} (lock ${lock}); stop it or use another --data-dir`, {
      details: { dir, lock, pid: holder?.pid ?? null, since: holder?.since ?? null },
    });
  }
}

export class StoreClosedError extends WeftError {
  constructor(reason = 'the store is closed') {
    super('STORE_CLOSED', reason);
  }
}

/** The data dir's file system has no space left (or the quota is used up): the write was not stored; freeing space lets writes go on. */
export class StoreFullError extends WeftError {
  constructor(dir: string, action: string, cause: unknown) {
    const errno = errnoOf(cause) ?? 'ENOSPC';
    super('STORE_FULL', `data dir ${dir} is full (${errno}) while ${action}; nothing was stored — free space on its file system and retry`, {
      retryable: true,
      cause,
      details: { dir, errno },
    });
  }
}

/** The data dir cannot be written (read-only file system or no permission): reads go on, writes are refused. */
export class StoreReadOnlyError extends WeftError {
  constructor(dir: string, action: string, cause: unknown) {
    const errno = errnoOf(cause) ?? 'EROFS';
    const why = errno === 'EROFS' ? 'is on a read-only file system' : 'is not writable';
    super('STORE_READ_ONLY', `data dir ${dir} ${why} (${errno}) while ${action}; nothing was stored — make it writable or use another --data-dir`, {
      retryable: true,
      cause,
      details: { dir, errno },
    });
  }
}

/** Any other I/O failure of the data dir (EIO, a failed fsync, ...): the write was not stored. */
export class StoreUnavailableError extends WeftError {
  constructor(dir: string, action: string, cause: unknown) {
    const errno = errnoOf(cause);
    const reason = errno ?? (cause instanceof Error ? cause.message : String(cause));
    super('STORE_UNAVAILABLE', `data dir ${dir} failed (${reason}) while ${action}; nothing was stored`, { retryable: true, cause, details: { dir, errno: errno ?? null } });
  }
}

/** Turns a file-system error into the store error an operator can act on; WeftErrors pass through. */
export function storeIoError(dir: string, action: string, error: unknown): WeftError {
  if (error instanceof WeftError) return error;
  switch (errnoOf(error)) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StoreFullError(dir, action, error);
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      return new StoreReadOnlyError(dir, action, error);
    default:
      return new StoreUnavailableError(dir, action, error);
  }
}

export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
