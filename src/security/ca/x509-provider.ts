// Security CA: the one place that prepares @peculiar/x509 (its decorators need reflect-metadata) over Node's WebCrypto.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
