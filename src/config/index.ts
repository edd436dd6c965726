// Config: files + flags + environment -> validated configuration.
export * from './listen-address.js';
export * from './proxy-config.js';
export * from './policy-file.js';
export * from './tcp-upstreams.js';
