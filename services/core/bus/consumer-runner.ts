import type { DeadLetter } from '../../../schemas/generated/events';
import { topicKeyOf, topicName, TOPICS, type TopicKey } from '../../../schemas/topics';
import type { RetryOptions } from '../errors';
import type { Logger } from '../logging';
import type { BusConfig } from './bus-config';
import type { EventHandler } from './handler';
import type { BusHooks } from './hooks';
import type { CommitOffset, FetchedBatch, InboundMessage, KafkaClient, KafkaConsumerPort, TopicPartitions } from './kafka-client';
import { ChangeSignal } from './change-signal';
import { KeyedScheduler } from './keyed-scheduler';
import { MessageProcessor } from './message-processor';
import { PartitionOffsets } from './partition-offsets';
import type { WireCodec } from './wire-codec';

export interface SubscriptionOptions<K extends TopicKey> {
  groupId: string;
  topics: readonly K[];
  handler: EventHandler<K>;
  /** Handlers running at once (default from config). */
  maxInFlight?: number;
  /** Messages held at once, running or waiting behind their key (default 4 × maxInFlight). */
  maxBuffered?: number;
  /** Where a group with no committed offset starts. Default true: no message is missed between topic creation and first start. */
  fromBeginning?: boolean;
  /** The client gave up on this consumer for good (it will not restart by itself). */
  onFatalError?: (error: Error) => void;
  /**
   * Batched fetching, for readers that need not see each record the moment it lands (the model-call
   * journal's reader): the broker answers once minBytes are ready or maxWaitTimeMs has passed, so a
   * steady trickle costs one fetch per wait instead of one per record on both ends.
   */
  fetch?: { minBytes: number; maxWaitTimeMs: number };
  /**
   * Whether this subscription's messages count in the process's per-hop figure (default true).
   * False for side readers whose records are not a game moving between roles (the journal's).
   */
  recordHops?: boolean;
  /**
   * Handles each partition's messages one after another in offset order (default false: one key's
   * messages in order, different keys overlap). For readers where a marker's handler must find
   * every earlier message of its partition applied (the model-call journal's barrier).
   */
  inOffsetOrder?: boolean;
}

export interface ConsumerRunnerDeps {
  client: KafkaClient;
  codec: WireCodec;
  publishDeadLetter(record: DeadLetter): Promise<void>;
  config: BusConfig;
  logger: Logger;
  /** Injected by tests. */
  retryTiming?: Pick<RetryOptions, 'random' | 'sleep'>;
  hooks?: BusHooks;
}

export interface StopReport {
  /** Every running handler finished before the deadline. */
  drained: boolean;
  /** Handlers still running at the deadline (their messages will be redelivered). */
  abandoned: number;
  /** Accepted messages that had not started (redelivered too). */
  dropped: number;
}

export interface ConsumerStats {
  running: number;
  pending: number;
  handled: number;
  deadLettered: number;
  generation: number;
  assignment: TopicPartitions[];
  /** Messages stalled now: a dependency kept failing them with retriable errors (alarm when > 0). */
  stalled: number;
  /** Retries made by stalled messages since start (grows while a dependency is down). */
  stallRetries: number;
  /** Times a message stalled since start. */
  stalls: number;
  /** Partitions taking nothing new now because a message of theirs is stalled. */
  pausedPartitions: number;
  /** The buffer is full now: the batch in hand waits for room (backpressure). */
  backpressured: boolean;
  /** Times the buffer filled up since start. */
  backpressurePauses: number;
}

/**
 * One consumer group member: fetches batches, hands each message to a per-key scheduler (ordered
 * per game, concurrent across games), and commits per partition only below the lowest unfinished
 * message.
 *
 * Offsets: each (topic, partition) has a PartitionOffsets window for the current group
 * generation. A message is accepted into the window when it is scheduled and finished when its
 * handler succeeds or it is dead-lettered; a commit records the window's lowest unfinished offset.
 * Every (re)join starts a new generation with empty windows: messages still running for the old
 * generation finish into windows nobody commits, and the new owner (possibly us) re-reads from the
 * last commit, so redelivery is possible and skipping is not.
 *
 * Heartbeats: the client heartbeats between fetches; this runner blocks the fetch loop only while
 * waiting for room in the scheduler or while a held partition's batch waits (see onStall), and
 * there it heartbeats every interval itself.
 * A heartbeat failing with a rebalance is rethrown so the client rejoins.
 */
export class ConsumerRunner<K extends TopicKey> {
  private readonly logger: Logger;
  private readonly scheduler: KeyedScheduler;
  private readonly processor: MessageProcessor<K>;
  private readonly consumer: KafkaConsumerPort;
  private readonly topicNames: string[];
  private readonly abort = new AbortController();
  /** Aborted when shutdown starts: stalled messages stop retrying at once. */
  private readonly draining = new AbortController();
  /** Stalled messages per paused partition (key topic\u0000partition). */
  private readonly stalledPartitions = new Map<string, { topic: string; partition: number; stalled: number }>();
  private stalledCount = 0;
  private stallCount = 0;
  private stallRetryCount = 0;
  /** The buffer is full (reported only: fetching is not paused for it, see noteBackpressure); cleared at the low-water mark. */
  private backpressured = false;
  private backpressurePauseCount = 0;
  /**
   * A stalled partition left unpaused in kafkajs because every assigned partition is stalled (see
   * onStall): its fetched batch waits in acceptBatch, taking nothing, until the stall ends or another
   * partition resumes (then it is paused for real).
   */
  private heldPartition: string | undefined;
  /** Notified when the hold changes (or a rebalance or shutdown starts): a held batch looks again. */
  private readonly holdChanged = new ChangeSignal();
  private partitions = new Map<string, PartitionOffsets>();
  private assignment: TopicPartitions[] = [];
  private generation = 0;
  private rebalancing = false;
  private stopping = false;
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<StopReport> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private commitChain: Promise<void> = Promise.resolve();
  private handledCount = 0;
  private deadLetteredCount = 0;

  constructor(
    private readonly deps: ConsumerRunnerDeps,
    private readonly options: SubscriptionOptions<K>,
  ) {
    const { config } = deps;
    const maxInFlight = options.maxInFlight ?? config.consumer.maxInFlight;
    this.logger = deps.logger.child({ groupId: options.groupId });
    this.scheduler = new KeyedScheduler(maxInFlight, options.maxBuffered ?? maxInFlight * 4, (error) =>
      this.logger.error('message task failed unexpectedly', { error }),
    );
    this.topicNames = options.topics.map((key) => topicName(key, config.topicPrefix));
    this.consumer = deps.client.consumer({
      groupId: options.groupId,
      sessionTimeoutMs: config.consumer.sessionTimeoutMs,
      rebalanceTimeoutMs: config.consumer.rebalanceTimeoutMs,
      heartbeatIntervalMs: config.consumer.heartbeatIntervalMs,
      maxWaitTimeMs: options.fetch?.maxWaitTimeMs ?? config.consumer.maxWaitTimeMs,
      maxBytesPerPartition: config.consumer.maxBytesPerPartition,
      ...(options.fetch ? { minBytes: options.fetch.minBytes } : {}),
      // One batch per partition per fetch, so more workers than partitions only cost kafkajs a
      // wake-up per worker per fetch (visible in profiles at maxInFlight 256).
      partitionsConcurrently: Math.max(1, Math.min(maxInFlight, declaredPartitions(options.topics))),
    });
    this.processor = new MessageProcessor<K>({
      groupId: options.groupId,
      codec: deps.codec,
      handler: options.handler,
      publishDeadLetter: deps.publishDeadLetter,
      heartbeat: () => this.heartbeatQuietly(),
      handlerRetry: config.handlerRetry,
      deadLetterBackoff: config.deadLetterBackoff,
      recordHops: options.recordHops !== false,
      logger: this.logger,
      signal: this.abort.signal,
      draining: this.draining.signal,
      onStall: (message) => this.onStall(message),
      onStallEnd: (message) => this.onStallEnd(message),
      onStallRetry: () => void this.stallRetryCount++,
      ...(deps.retryTiming ? { retryTiming: deps.retryTiming } : {}),
    });
  }

  get groupId(): string {
    return this.options.groupId;
  }

  start(): Promise<void> {
    this.startPromise ??= this.startConsuming();
    return this.startPromise;
  }

  /** Stops fetching, drains running handlers until the shutdown deadline, commits, disconnects. */
  stop(): Promise<StopReport> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  stats(): ConsumerStats {
    return {
      running: this.scheduler.running,
      pending: this.scheduler.pending,
      handled: this.handledCount,
      deadLettered: this.deadLetteredCount,
      generation: this.generation,
      assignment: this.assignment,
      stalled: this.stalledCount,
      stallRetries: this.stallRetryCount,
      stalls: this.stallCount,
      pausedPartitions: this.stalledPartitions.size,
      backpressured: this.backpressured,
      backpressurePauses: this.backpressurePauseCount,
    };
  }

  /**
   * Backpressure: when the buffer is full, the batch in hand waits for room with a ticket
   * (acceptBatch), which holds kafkajs' fetch loop: it fetches again only once every batch of its
   * last fetch was handed back. So beyond the buffer at most one fetch response is held (one batch
   * per partition, maxBytesPerPartition each), as when fetching was paused here before.
   *
   * Fetching is deliberately not paused for it: kafkajs 2.2.4 answers a fetch that finds every
   * partition paused with a sleep of maxWaitTime that no resume interrupts
   * (consumerGroup.fetch), so the first fetch after the buffer drained came up to maxWaitTime late
   * (test/bus/resume-latency.int-spec.ts). Unpaused, that fetch is a long poll answered as soon as
   * data arrives, and its batches take room the moment it frees. The flag and counter only report.
   */
  private noteBackpressure(): void {
    if (this.backpressured || this.stopping) return;
    this.backpressured = true;
    this.backpressurePauseCount++;
  }

  private clearBackpressure(pendingNow: number): void {
    if (pendingNow <= Math.floor(this.scheduler.maxPending * 0.75)) this.backpressured = false;
  }

  /**
   * A message stalled on a dependency: its partition takes nothing new until no stalled message is
   * left in it. Normally it is paused in kafkajs. The last assigned partition to stall is held
   * instead (left unpaused, its next batch waits in acceptBatch): with every partition paused,
   * kafkajs 2.2.4 sleeps maxWaitTime per fetch and a resume does not wake it, so the recovery would
   * wait out that sleep. A held batch is at most one (maxBytesPerPartition).
   */
  private onStall(message: InboundMessage): void {
    this.stalledCount++;
    this.stallCount++;
    const id = partitionId(message.topic, message.partition);
    const entry = this.stalledPartitions.get(id);
    if (entry) {
      entry.stalled++;
      return;
    }
    this.stalledPartitions.set(id, { topic: message.topic, partition: message.partition, stalled: 1 });
    if (this.heldPartition === undefined && this.isAssigned(id) && this.everyAssignedStalled()) {
      this.heldPartition = id;
      this.logger.warn('partition held (takes nothing new): a message is stalled on a dependency', { topic: message.topic, partition: message.partition });
      return;
    }
    try {
      this.consumer.pausePartitions([{ topic: message.topic, partitions: [message.partition] }]);
      this.logger.warn('partition paused: a message is stalled on a dependency', { topic: message.topic, partition: message.partition });
    } catch (error) {
      this.logger.warn('could not pause a stalled partition', { error, topic: message.topic, partition: message.partition });
    }
  }

  private onStallEnd(message: InboundMessage): void {
    this.stalledCount--;
    const id = partitionId(message.topic, message.partition);
    const entry = this.stalledPartitions.get(id);
    if (!entry) return;
    entry.stalled--;
    if (entry.stalled > 0) return;
    this.stalledPartitions.delete(id);
    if (this.heldPartition === id) {
      // Never paused in kafkajs: its waiting batch goes on.
      this.heldPartition = undefined;
      this.holdChanged.notify();
      this.logger.info('partition resumed', { topic: message.topic, partition: message.partition });
      return;
    }
    if (this.stopping) return;
    try {
      this.consumer.resumePartitions([{ topic: message.topic, partitions: [message.partition] }]);
      this.logger.info('partition resumed', { topic: message.topic, partition: message.partition });
    } catch (error) {
      this.logger.warn('could not resume a partition', { error, topic: message.topic, partition: message.partition });
    }
    // Another partition fetches again: a held one can be paused for real now.
    this.reconcileHold();
  }

  /** Keeps the hold invariant after a change: a partition is held only while every assigned partition is stalled. */
  private reconcileHold(): void {
    const held = this.heldPartition;
    const allStalled = this.everyAssignedStalled();
    if (held !== undefined && (!allStalled || !this.isAssigned(held) || !this.stalledPartitions.has(held))) {
      this.heldPartition = undefined;
      const entry = this.stalledPartitions.get(held);
      if (entry) {
        try {
          this.consumer.pausePartitions([{ topic: entry.topic, partitions: [entry.partition] }]);
        } catch (error) {
          this.logger.warn('could not pause a stalled partition', { error, topic: entry.topic, partition: entry.partition });
        }
      }
      this.holdChanged.notify();
    }
    if (this.heldPartition === undefined && allStalled && !this.stopping) {
      const first = this.assignment.find((a) => a.partitions.length > 0)!;
      const partition = first.partitions[0]!;
      try {
        this.consumer.resumePartitions([{ topic: first.topic, partitions: [partition] }]);
        this.heldPartition = partitionId(first.topic, partition);
      } catch (error) {
        this.logger.warn('could not hold a stalled partition', { error, topic: first.topic, partition });
      }
    }
  }

  private isAssigned(id: string): boolean {
    return this.assignment.some((a) => a.partitions.some((p) => partitionId(a.topic, p) === id));
  }

  private everyAssignedStalled(): boolean {
    let any = false;
    for (const a of this.assignment) {
      for (const p of a.partitions) {
        if (!this.stalledPartitions.has(partitionId(a.topic, p))) return false;
        any = true;
      }
    }
    return any;
  }

  /** While the batch's partition is held, waits (heartbeating) until that changes or the batch may no longer be accepted. */
  private async waitWhileHeld(generation: number, batch: FetchedBatch, id: string): Promise<void> {
    while (this.heldPartition === id && !this.stopping && generation === this.generation && batch.isActive()) {
      await this.holdChanged.wait(this.deps.config.consumer.heartbeatIntervalMs);
      if (this.heldPartition === id && !this.stopping) await batch.heartbeat();
    }
  }

  private async startConsuming(): Promise<void> {
    await this.consumer.start(
      this.topicNames,
      { fromBeginning: this.options.fromBeginning ?? true },
      {
        onBatch: (batch) => this.acceptBatch(batch),
        onAssigned: (assignment) => this.onAssigned(assignment),
        onRebalancing: () => this.onRebalancing(),
        onCrash: (error, willRestart) => this.onCrash(error, willRestart),
      },
    );
    this.commitTimer = setInterval(() => void this.commitFinished(), this.deps.config.consumer.commitIntervalMs);
    this.commitTimer.unref();
    this.logger.info('consumer started', { topics: this.topicNames, maxInFlight: this.scheduler.maxRunning, maxBuffered: this.scheduler.maxPending });
  }

  private mayAccept(generation: number, batch: FetchedBatch): boolean {
    // A partition paused for a stalled message takes nothing more from this batch: the rest is
    // re-fetched after it resumes (only offsets marked fetched advance the fetch position).
    return !this.stopping && generation === this.generation && batch.isActive() && !this.stalledPartitions.has(partitionId(batch.topic, batch.partition));
  }

  private async acceptBatch(batch: FetchedBatch): Promise<void> {
    const generation = this.generation;
    const offsets = this.offsetsFor(batch.topic, batch.partition);
    const topicKey = topicKeyOf(batch.topic, this.deps.config.topicPrefix) as K;
    const id = partitionId(batch.topic, batch.partition);
    for (const message of batch.messages) {
      // Returning would fetch the held partition again at once; waiting holds the fetch loop instead.
      if (this.heldPartition === id) await this.waitWhileHeld(generation, batch, id);
      if (!this.mayAccept(generation, batch)) return;
      const ticket = this.scheduler.requestRoom();
      try {
        if (!this.scheduler.hasRoom()) this.noteBackpressure();
        while (!(await ticket.wait(this.deps.config.consumer.heartbeatIntervalMs))) {
          if (!this.mayAccept(generation, batch)) break;
          await batch.heartbeat();
        }
      } catch (error) {
        ticket.cancel();
        throw error;
      }
      if (!this.mayAccept(generation, batch)) {
        ticket.cancel();
        return;
      }
      if (!offsets.accept(message.offset)) {
        ticket.cancel();
        continue;
      }
      batch.markFetched(message.offset);
      this.scheduler.submit(this.schedulingKey(message), () => this.handle(message, topicKey, offsets), ticket);
    }
  }

  /** What orders a message behind others: its key (a game's events in order), or its partition (offset order). */
  private schedulingKey(message: InboundMessage): string | null {
    if (this.options.inOffsetOrder) return `${message.topic}|${message.partition}`;
    return message.key === null ? null : message.key.toString('latin1');
  }

  private async handle(message: InboundMessage, topicKey: K, offsets: PartitionOffsets): Promise<void> {
    const done = this.deps.hooks?.messageStarted(message.topic, this.options.groupId);
    const outcome = await this.processor.process(message, topicKey);
    done?.(outcome);
    if (outcome === 'abandoned') return;
    if (outcome === 'handled') this.handledCount++;
    else this.deadLetteredCount++;
    // A window from an older generation is no longer in `partitions`, so this cannot reach a commit.
    offsets.finish(message.offset);
    // This task still counts as pending until it returns.
    if (this.backpressured) this.clearBackpressure(this.scheduler.pending - 1);
  }

  private offsetsFor(topic: string, partition: number): PartitionOffsets {
    const id = partitionId(topic, partition);
    let offsets = this.partitions.get(id);
    if (!offsets) {
      offsets = new PartitionOffsets(topic, partition);
      this.partitions.set(id, offsets);
    }
    return offsets;
  }

  private onAssigned(assignment: TopicPartitions[]): void {
    this.generation++;
    this.partitions = new Map();
    this.assignment = assignment;
    this.rebalancing = false;
    this.scheduler.wake();
    this.reconcileHold();
    this.logger.info('joined group', { generation: this.generation, assignment: assignment.map((a) => `${a.topic}[${a.partitions.join(',')}]`) });
  }

  private onRebalancing(): void {
    // Last chance to record progress under the old generation; the broker still accepts it while
    // the group is preparing to rebalance. Afterwards nothing is committed until the next join.
    void this.commitFinished({ evenWhileRebalancing: true });
    this.rebalancing = true;
    this.scheduler.wake();
    this.holdChanged.notify();
    this.logger.info('group is rebalancing', { generation: this.generation, running: this.scheduler.running });
  }

  private onCrash(error: Error, willRestart: boolean): void {
    // Nothing can be committed until the restarted client rejoins (and starts a new generation).
    this.rebalancing = true;
    if (willRestart) {
      this.logger.warn('consumer crashed; the client restarts it', { error });
      return;
    }
    this.logger.error('consumer crashed and will not restart', { error });
    this.options.onFatalError?.(error);
  }

  /** Commits every partition whose committable offset moved. Serialized: one commit request at a time. */
  private commitFinished(options: { evenWhileRebalancing?: boolean } = {}): Promise<void> {
    const allowed = options.evenWhileRebalancing === true || !this.rebalancing;
    this.commitChain = this.commitChain.then(() => (allowed ? this.commitOnce() : undefined));
    return this.commitChain;
  }

  private async commitOnce(): Promise<void> {
    const generation = this.generation;
    const due: Array<{ window: PartitionOffsets; commit: CommitOffset }> = [];
    for (const window of this.partitions.values()) {
      const offset = window.pendingCommit();
      if (offset !== undefined) due.push({ window, commit: { topic: window.topic, partition: window.partition, offset } });
    }
    if (due.length === 0) return;
    try {
      await this.consumer.commit(due.map((d) => d.commit));
      if (generation === this.generation) for (const d of due) d.window.markCommitted(d.commit.offset);
      this.logger.debug('committed', { offsets: due.map((d) => `${d.commit.topic}[${d.commit.partition}]@${d.commit.offset}`) });
    } catch (error) {
      this.logger.warn('commit failed; the next commit retries it', { error, generation });
    }
  }

  private async heartbeatQuietly(): Promise<void> {
    try {
      await this.consumer.heartbeat();
    } catch (error) {
      this.logger.debug('heartbeat from a handler failed (the fetch loop will rejoin)', { error });
    }
  }

  private async shutdown(): Promise<StopReport> {
    const deadline = Date.now() + this.deps.config.shutdownTimeoutMs;
    this.stopping = true;
    // Stalled messages will not recover within the deadline: they stop now and are redelivered.
    this.draining.abort(new Error('shutting down'));
    this.holdChanged.notify();
    try {
      await this.startPromise;
    } catch {
      // A consumer that never started has nothing to drain.
    }
    const dropped = this.scheduler.stopStarting();
    try {
      this.consumer.pause(this.topicNames);
    } catch (error) {
      this.logger.debug('could not pause before drain', { error });
    }
    this.logger.info('draining', { running: this.scheduler.running, dropped });
    while (this.scheduler.running > 0 && Date.now() < deadline) {
      await this.scheduler.changed(Math.max(1, Math.min(deadline - Date.now(), 1000)));
    }
    const abandoned = this.scheduler.running;
    if (abandoned > 0) {
      this.logger.warn('shutdown deadline reached; abandoning running handlers (their messages will be redelivered)', { abandoned });
      this.abort.abort(new Error('shutdown deadline reached'));
    }
    clearInterval(this.commitTimer);
    await withinDeadline(this.commitFinished(), deadline);
    try {
      await withinDeadline(this.consumer.disconnect(), Math.max(deadline, Date.now() + 5_000));
    } catch (error) {
      this.logger.warn('disconnect failed', { error });
    }
    const report: StopReport = { drained: abandoned === 0, abandoned, dropped };
    this.logger.info('consumer stopped', { ...report, handled: this.handledCount, deadLettered: this.deadLetteredCount });
    return report;
  }
}

/** Partitions the topics are created with (topics created elsewhere with more still work: extra batches wait for a worker). */
function declaredPartitions(topics: readonly TopicKey[]): number {
  return topics.reduce((sum, key) => sum + TOPICS[key].partitions, 0);
}

function partitionId(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Waits for `work` but not past `deadline` (epoch ms); the work keeps running if it overruns. */
async function withinDeadline(work: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([work.then(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
