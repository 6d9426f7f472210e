import type { EventBus, Subscription } from '../core/bus';
import { ChangeSignal } from '../core/bus/change-signal';

/**
 * The referee's verdicts as the bound bench's launcher sees them: games judged per run, read from
 * the game-judged topic as they happen. The launcher keeps N games between launch and verdict, i.e.
 * N games at the players; the sink's ClickHouse rows are checked once per phase (drain), not used
 * for pacing, so the sink's flush interval and a ClickHouse poll do not hold games back from the
 * endpoints (they did: ~1 s per game between verdict and a counted row at 500 ms polls).
 */
export class VerdictWatcher {
  private readonly judged = new Map<string, Set<string>>();
  private readonly verdicts = new ChangeSignal();
  private subscription: Subscription | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly groupId: string,
  ) {}

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      groupId: this.groupId,
      topics: ['gameJudged'],
      maxInFlight: 64,
      handler: async (event) => {
        const { runId, gameId } = event.game.header;
        let ids = this.judged.get(runId);
        if (!ids) this.judged.set(runId, (ids = new Set()));
        ids.add(gameId);
        this.verdicts.notify();
      },
    });
  }

  /** Distinct games of `runId` judged so far (a redelivered verdict counts once). */
  count(runId: string): number {
    return this.judged.get(runId)?.size ?? 0;
  }

  /** Resolves at the next verdict or after `timeoutMs`, whichever comes first. */
  changed(timeoutMs: number): Promise<void> {
    return this.verdicts.wait(timeoutMs);
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.verdicts.notify();
  }
}
