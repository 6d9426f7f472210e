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
