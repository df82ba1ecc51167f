/** A bundle on disk for unit tests: config.json and an empty rootfs directory in a tmpdir. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Spec } from '../../lib/oci/schema';
import { defaultSpec } from '../../lib/oci/spec';

export function tmpBundle(edit: (s: Spec) => void = () => undefined): { dir: string; spec: Spec; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-unit-'));
  fs.mkdirSync(path.join(dir, 'rootfs'));
  const spec = defaultSpec({ terminal: false });
  edit(spec);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return { dir, spec, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
