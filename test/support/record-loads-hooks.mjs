// Test support: the module hooks record-loads.mjs registers; one line per module loaded, written before it is handed over.
import { appendFileSync } from 'node:fs';

const file = process.env.WEFT_RECORD_LOADS;

export async function load(url, context, nextLoad) {
  // Written synchronously: the process may exit as soon as it has what it loaded.
  if (file) appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
