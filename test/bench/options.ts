// Benchmark options: `--name value` on the command line, else the environment
// variable `<PREFIX>_<NAME>` (upper case, dashes as underscores), else a default.

/** `--help` prints `usage` and exits. */
export function benchOptions(envPrefix: string, usage: string, argv: readonly string[] = process.argv.slice(2)) {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (match === null) continue;
    if (match[2] !== undefined) args.set(match[1], match[2]);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args.set(match[1], argv[++i]);
    else args.set(match[1], 'true');
  }
  if (args.has('help')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const text = (name: string, fallback: string): string =>
    args.get(name) ?? process.env[`${envPrefix}_${name.toUpperCase().replaceAll('-', '_')}`] ?? fallback;
  const number = (name: string, fallback: number): number => {
    const value = Number(text(name, String(fallback)));
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
    return value;
  };
  return { text, number };
}
