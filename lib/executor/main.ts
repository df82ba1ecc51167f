/**
 * The executor's entry point: `node <pkg>/dist/executor/main.js --hull-executor <config.json>`.
 * Loads only what serving needs; anything else (a plain require) does nothing.
 */
import { EXECUTOR_MARKER } from './protocol';

const at = process.argv.indexOf(EXECUTOR_MARKER);
if (at >= 0 && require.main === module) {
  const config = process.argv[at + 1];
  if (!config) {
    process.exitCode = 2;
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    void (require('./server') as typeof import('./server')).runExecutor(config);
  }
}
