import { ClaimIndex } from './transcript-claims';

describe('ClaimIndex', () => {
  it('makes the first claim in log order the owner, for every claimant and every repeat', () => {
    const index = new ClaimIndex();
    index.record({ transcriptHash: 'h', gameId: 'g2' });
    index.record({ transcriptHash: 'h', gameId: 'g1' });
    index.record({ transcriptHash: 'h', gameId: 'g2' });
    expect(index.ownerSeenBy('h', 'g1')).toBe('g2');
    expect(index.ownerSeenBy('h', 'g2')).toBe('g2');
    expect(index.ownerSeenBy('h', 'g3')).toBeUndefined();
    expect(index.ownerSeenBy('other', 'g1')).toBeUndefined();
  });

  it('remembers later claims in a bounded FIFO: a forgotten one reads as unseen (claim again), the owner never changes', () => {
    const index = new ClaimIndex(2);
    index.record({ transcriptHash: 'h', gameId: 'owner' });
    for (const id of ['d1', 'd2', 'd3']) index.record({ transcriptHash: 'h', gameId: id });
    expect(index.ownerSeenBy('h', 'd1')).toBeUndefined();
    expect(index.ownerSeenBy('h', 'd2')).toBe('owner');
    expect(index.ownerSeenBy('h', 'd3')).toBe('owner');
    expect(index.ownerSeenBy('h', 'owner')).toBe('owner');
    // d1 claims again (as the filter does when its claim is not known): same owner.
    index.record({ transcriptHash: 'h', gameId: 'd1' });
    expect(index.ownerSeenBy('h', 'd1')).toBe('owner');
    expect(index.size).toBe(1);
  });

  it('answers a waiting game once its own claim is read back, and times out retriably otherwise', async () => {
    const index = new ClaimIndex();
    const waiting = index.waitForClaim('h', 'g2', 5_000);
    index.record({ transcriptHash: 'h', gameId: 'g1' });
    index.record({ transcriptHash: 'h', gameId: 'g2' });
    await expect(waiting).resolves.toBe('g1');
    await expect(index.waitForClaim('h', 'g1', 5_000)).resolves.toBe('g1');
    await expect(index.waitForClaim('h', 'never', 20)).rejects.toMatchObject({ retriable: true, message: expect.stringMatching(/not read back/) });
  });
});
