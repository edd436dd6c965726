// Model: the steps of a CA root rotation, as the API's paths and `weft ca` name them; without zod, so that the CLI can list them cheaply.

export const CA_ROTATION_STEPS = ['rotate', 'activate', 'retire'] as const;
export type CaRotationStep = (typeof CA_ROTATION_STEPS)[number];
