/** `--name value` flags of the reliability scripts, with numeric defaults. */
export function numberFlag(name: string, fallback: number, argv: string[] = process.argv.slice(2)): number {
  const i = argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(argv[i + 1]);
  if (!Number.isFinite(value)) throw new RangeError(`--${name} must be a number`);
  return value;
}

export function booleanFlag(name: string, argv: string[] = process.argv.slice(2)): boolean {
  return argv.includes(`--${name}`);
}
