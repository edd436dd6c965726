// Embedded store: errors that name the file and offset involved, so an operator can find the damage.
import { WeftError } from '../../../core/index.js';

export class StoreCorruptError extends WeftError {
  constructor(file: string, offset: number, reason: string) {
    super('STORE_CORRUPT', `${file}: corrupt record at offset ${offset} (${reason}) followed by valid records; refusing to drop acknowledged data`, {
      details: { file, offset },
    });
  }
}

export class StoreLockedError extends WeftError {
  constructor(dir: string, pid: number) {
    super('CONFLICT', `data dir ${dir} is in use by process ${pid} (lock file ${dir}/LOCK); stop it or use another --data-dir`, {
      details: { dir, pid },
    });
  }
}

export class StoreClosedError extends WeftError {
  constructor(reason = 'the store is closed') {
    super('STORE_CLOSED', reason);
  }
}
