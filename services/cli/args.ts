import { InvalidArgumentError } from 'commander';

/** A commander argument parser for an integer flag with a lower bound; the error names the flag. */
export function integerArg(flag: string, min: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got "${value}"`);
    return n;
  };
}
