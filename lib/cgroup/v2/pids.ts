/** The v2 pids controller has the same files as v1's: pids.max, pids.current. */
export { PidsSampler, apply, stats } from '../v1/pids';
