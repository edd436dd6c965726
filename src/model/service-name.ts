// Model: what a service name may be, a DNS label; without zod, so that command-line flags can check one cheaply.

export const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
