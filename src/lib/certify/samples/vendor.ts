/** The vendor string of the deliberately broken sample filters. */
export const SAMPLE_VENDOR = 'VAIO Playground (broken sample)';
