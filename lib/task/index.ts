/** Task-level policy over the OCI model: volumes with propagation, and capability sets. */
export { computeCapabilities, type CapabilityPolicy } from './capabilities';
export { PROPAGATION_OPTIONS, volumeToMount, volumesToMounts, type TaskVolume, type VolumePropagation } from './volumes';
