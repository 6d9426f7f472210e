import { PartitionOffsets } from './partition-offsets';

describe('PartitionOffsets', () => {
  it('has nothing to commit before any message is accepted', () => {
    const window = new PartitionOffsets('t', 0);
    expect(window.committable()).toBeUndefined();
    expect(window.pendingCommit()).toBeUndefined();
  });

  it('commits the lowest unfinished offset while later messages finish first', () => {
    const window = new PartitionOffsets('t', 0);
    for (const offset of ['10', '11', '12', '13']) expect(window.accept(offset)).toBe(true);
    expect(window.committable()).toBe('10');
    window.finish('12');
    window.finish('13');
    expect(window.committable()).toBe('10');
    window.finish('10');
    expect(window.committable()).toBe('11');
    window.finish('11');
    expect(window.committable()).toBe('14');
    expect(window.unfinished).toBe(0);
  });

  it('commits one past the last finished message when none is unfinished, across gaps in offsets', () => {
    const window = new PartitionOffsets('t', 0);
    window.accept('5');
    window.accept('9'); // compaction or transaction markers leave gaps
    window.finish('9');
    expect(window.committable()).toBe('5');
    window.finish('5');
    expect(window.committable()).toBe('10');
  });

  it('refuses offsets at or below the last accepted one (a re-fetch)', () => {
    const window = new PartitionOffsets('t', 0);
    expect(window.accept('3')).toBe(true);
    expect(window.accept('3')).toBe(false);
    expect(window.accept('2')).toBe(false);
    expect(window.unfinished).toBe(1);
  });

  it('reports a pending commit only when the committable offset moved past the last commit', () => {
    const window = new PartitionOffsets('t', 0);
    window.accept('0');
    window.accept('1');
    expect(window.pendingCommit()).toBe('0');
    window.markCommitted('0');
    expect(window.pendingCommit()).toBeUndefined();
    window.finish('0');
    expect(window.pendingCommit()).toBe('1');
    window.markCommitted('1');
    window.finish('1');
    expect(window.pendingCommit()).toBe('2');
  });

  it('handles 64-bit offsets beyond Number.MAX_SAFE_INTEGER', () => {
    const window = new PartitionOffsets('t', 0);
    window.accept('9007199254740993');
    window.finish('9007199254740993');
    expect(window.committable()).toBe('9007199254740994');
  });

  it('ignores finishing an offset it never accepted', () => {
    const window = new PartitionOffsets('t', 0);
    window.accept('1');
    window.finish('7');
    expect(window.committable()).toBe('1');
  });
});
