import * as os from 'node:os';
import * as util from 'node:util';

/**
 * Codes of hull's own errors that are not an errno. An errno-based error has the errno name
 * (`EPERM`, `ENOENT`, ...) as its code, as Node's fs errors do.
 */
export type HullErrorCode =
  | 'EINVALIDCONFIG'
  | 'EINVALIDARG'
  | 'ENOTFOUND'
  | 'EEXISTS'
  | 'ESTATE'
  | 'ECHILDEXIT'
  | 'EUNSUPPORTED'
  | string;

export interface HullErrorFields {
  code: HullErrorCode;
  errno?: number;
  syscall?: string;
  path?: string;
  /** the JSON path of the config field at fault, e.g. `process.args` */
  field?: string;
  /** the step of container setup that failed, e.g. `mount` */
  step?: string;
  cause?: unknown;
}

/** The one error class hull throws. Messages are lower-case and name the syscall and path. */
export class HullError extends Error {
  override name = 'HullError';
  readonly code: HullErrorCode;
  declare readonly errno?: number;
  declare readonly syscall?: string;
  declare readonly path?: string;
  declare readonly field?: string;
  declare readonly step?: string;

  constructor(message: string, fields: HullErrorFields) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = fields.code;
    if (fields.errno !== undefined) this.errno = fields.errno;
    if (fields.syscall !== undefined) this.syscall = fields.syscall;
    if (fields.path !== undefined) this.path = fields.path;
    if (fields.field !== undefined) this.field = fields.field;
    if (fields.step !== undefined) this.step = fields.step;
  }
}

const errnoNames = new Map<number, string>(
  Object.entries(os.constants.errno).map(([name, num]) => [num, name]),
);

/** `EPERM` for 1, or `E<num>` when the number is unknown. */
export function errnoName(errnum: number): string {
  return errnoNames.get(errnum) ?? `E${errnum}`;
}

const systemErrors = util.getSystemErrorMap();

/** strerror text as libuv has it, lower-case already: "operation not permitted". */
export function errnoText(errnum: number): string {
  return systemErrors.get(-errnum)?.[1] ?? `errno ${errnum}`;
}

/**
 * Builds the error for a failed syscall: ``mount `/proc` on `/x/rootfs/proc`: operation not permitted``.
 * `what` is the text before the colon; it names the syscall and quotes the path.
 */
export function syscallError(
  what: string,
  errnum: number,
  extra: { syscall?: string; path?: string; step?: string; field?: string } = {},
): HullError {
  return new HullError(`${what}: ${errnoText(errnum)}`, { code: errnoName(errnum), errno: errnum, ...extra });
}

/** Converts a Node fs/system error into a HullError that keeps its code, errno, syscall and path. */
export function fromNodeError(e: unknown, what: string): HullError {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno === 'number') {
    const errnum = Math.abs(err.errno);
    return syscallError(what, errnum, {
      ...(err.syscall ? { syscall: err.syscall } : {}),
      ...(err.path ? { path: err.path } : {}),
    });
  }
  return new HullError(`${what}: ${String((e as Error)?.message ?? e)}`, { code: 'EIO', cause: e });
}

export function configError(field: string, why: string): HullError {
  return new HullError(`invalid config: ${field}: ${why}`, { code: 'EINVALIDCONFIG', field });
}
