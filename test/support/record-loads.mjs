// Test support: for `node --import`; makes the process append the URL of every module its ES module loader loads to the file named by $WEFT_RECORD_LOADS.
import { register } from 'node:module';

// The hooks run in a thread of their own, so they are a module of their own.
register('./record-loads-hooks.mjs', import.meta.url);
