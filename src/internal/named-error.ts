/**
 * Puts the public call's name in front of an error raised by a helper it used, keeping the error's class and code,
 * so that every message of `loadBase` starts with `loadBase:` whichever layer raised it. Internal.
 */
import {
  IncompatibleModelError,
  InvalidArgumentError,
  LoadError,
  TlKitError,
  UnsafeModelError,
  UnsupportedError,
} from '../errors';

/**
 * `err` with `${call}: ` in front of its message, as the exported class of its code, with `err` as the cause.
 * Argument errors (which name their own call) and messages that already start with `call` are returned as they are.
 */
export function namedBy(call: string, err: TlKitError): TlKitError {
  if (err instanceof InvalidArgumentError || err.message.startsWith(`${call}:`)) return err;
  const message = `${call}: ${err.message}`;
  const options = { cause: err };
  switch (err.code) {
    case 'LOAD':
      return new LoadError(message, options);
    case 'UNSAFE_MODEL':
      return new UnsafeModelError(message, options);
    case 'INCOMPATIBLE_MODEL':
      return new IncompatibleModelError(message, options);
    case 'UNSUPPORTED':
      return new UnsupportedError(message, options);
    default:
      return new TlKitError(err.code, message, options);
  }
}
