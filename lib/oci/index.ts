// Types only from the schema: its values load TypeBox, which validate.ts defers to first use so
// that importing lib/oci stays cheap. Import the schemas themselves from './schema'.
export type * from './schema';
export { CAPABILITIES, CAP_LAST_CAP, DEFAULT_CAPABILITIES, RLIMITS, capabilityNumber } from './capabilities';
export { MIN_MEMORY_LIMIT, MOUNT_FLAG_OPTIONS, fieldPath, loadBundle, validateSpec } from './validate';
export { defaultSpec, type DefaultSpecOptions } from './spec';
