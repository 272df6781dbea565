import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain } from '../k8s/names.js';
import { parseDuration } from '../util/duration.js';
import { formatSize, parseSize } from '../util/size.js';

/** commander parsers shared by the commands: each refuses a bad value with a message fit for the command line. */

export function intArg(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

export function durationArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** A size in bytes (`8MiB`, `512KiB`, `10MB`, or a bare number of bytes) within [min, max]. */
export function sizeArg(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    let bytes: number;
    try {
      bytes = parseSize(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    if (bytes < min || bytes > max) throw new InvalidArgumentError(`${name} must be from ${formatSize(min)} to ${formatSize(max)}`);
    return bytes;
  };
}

/** A Service name, as the API server accepts one (RFC 1035 label). */
export function serviceNameArg(value: string): string {
  if (!isDns1035Label(value))
    throw new InvalidArgumentError(
      `"${value}" is not a Service name (a DNS label: lowercase letters, digits and '-', starting with a letter, at most 63 characters)`,
    );
  return value;
}

/** A namespace name, as the API server accepts one (RFC 1123 label). */
export function namespaceArg(value: string): string {
  if (!isDns1123Label(value)) throw new InvalidArgumentError(`"${value}" is not a namespace name (lowercase letters, digits and '-', at most 63 characters)`);
  return value;
}

/** `--extra-name a.example.com 10.0.0.1 ...`: DNS names (RFC 1123 subdomains) or IP addresses for a certificate. */
export function dnsNameOrIpArg(value: string, previous: readonly string[] = []): string[] {
  if (isIP(value) === 0 && !isDns1123Subdomain(value))
    throw new InvalidArgumentError(
      `"${value}" is neither an IP address nor a DNS name (lowercase letters, digits, '-' and '.', labels starting and ending with a letter or digit, at most 253 characters)`,
    );
  return [...previous, value];
}

/** A name of a kind most objects share (Secrets, ConfigMaps: an RFC 1123 subdomain). */
export function objectNameArg(kind: string): (value: string) => string {
  return (value) => {
    if (!isDns1123Subdomain(value))
      throw new InvalidArgumentError(`"${value}" is not a ${kind} name (lowercase letters, digits, '-' and '.', at most 253 characters)`);
    return value;
  };
}
