/**
 * Transcript hashes this filter instance has kept or rejected, with the game that produced each, so
 * a later game with the same transcript is a duplicate while a redelivery of the same game is not.
 * Bounded (oldest forgotten first): duplicate detection is best effort across a window of games.
 */
export class SeenTranscripts {
  private readonly byHash = new Map<string, string>();

  constructor(private readonly capacity = 200_000) {}

  /** Hashes seen from games other than `gameId`, for the filter's duplicate rule. */
  othersFor(gameId: string, hash: string): ReadonlySet<string> {
    const owner = this.byHash.get(hash);
    return owner !== undefined && owner !== gameId ? new Set([hash]) : new Set();
  }

  remember(gameId: string, hash: string): void {
    if (this.byHash.has(hash)) return;
    this.byHash.set(hash, gameId);
    if (this.byHash.size > this.capacity) this.byHash.delete(this.byHash.keys().next().value as string);
  }
}
