import { splitNodeFlags } from './node-flags';

describe('splitNodeFlags (dg bench --role-node-options)', () => {
  it('splits a quoted string of Node/V8 flags into words', () => {
    expect(splitNodeFlags(' --max-semi-space-size=16   --max-old-space-size=160 ')).toEqual(['--max-semi-space-size=16', '--max-old-space-size=160']);
    expect(splitNodeFlags('--single-threaded-gc')).toEqual(['--single-threaded-gc']);
  });

  it('refuses an empty string and words that are not flags, naming them', () => {
    expect(() => splitNodeFlags('  ')).toThrow(/^takes Node\/V8 flags separated by spaces/);
    expect(() => splitNodeFlags('--max-old-space-size 160')).toThrow('(not a flag: 160)');
    expect(() => splitNodeFlags('-x --ok')).toThrow('(not a flag: -x)');
  });
});
