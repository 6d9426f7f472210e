import { InvalidArgumentError } from 'commander';
import { questionModeNames } from '../game/variants';
import type { QuestionMode } from '../../schemas/generated/events';
import { splitNodeFlags } from './node-flags';

/** A commander argument parser for an integer flag with a lower bound; the error names the flag. */
export function integerArg(flag: string, min: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got "${value}"`);
    return n;
  };
}

/** A commander argument parser for --question-mode: a mode of the variant table (services/game/variants). */
export function questionModeArg(flag: string): (value: string) => QuestionMode {
  return (value: string): QuestionMode => {
    const names = questionModeNames();
    if (!names.includes(value)) throw new InvalidArgumentError(`${flag} must be ${names.join(' or ')}, got "${value}"`);
    return value as QuestionMode;
  };
}

/** A commander argument parser for Node/V8 flags given as one quoted string (see splitNodeFlags). */
export function nodeFlagsArg(flag: string): (value: string) => string[] {
  return (value: string): string[] => {
    try {
      return splitNodeFlags(value);
    } catch (error) {
      throw new InvalidArgumentError(`${flag} ${(error as Error).message}`);
    }
  };
}
