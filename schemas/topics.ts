import type { EventName, EventTypes } from './generated/events';

/**
 * THE topic map: the only place topic names appear. Actual names are `${topicPrefix}${baseName}`
 * (prefix from config, default `dg.`), so tests isolate themselves with a unique prefix.
 * Every game topic is keyed by game id so all events of one game stay ordered on one partition.
 */

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface TopicSpec {
  /** Name without the prefix. */
  readonly baseName: string;
  /** Event type carried as the value (registered under `<topic>-value`). */
  readonly valueEvent: EventName;
  /** What the Kafka key holds (UTF-8 string). */
  readonly key: string;
  readonly partitions: number;
  readonly retentionMs: number;
  readonly cleanupPolicy: CleanupPolicy;
  readonly description: string;
  /** Segment roll time (Kafka segment.ms), for topics whose retention must apply quickly. */
  readonly segmentMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const GAME_TOPIC_PARTITIONS = 6;
const GAME_TOPIC_RETENTION_MS = 7 * DAY_MS;
const GAME_ID_KEY = 'game id (header.gameId), UTF-8';

export const TOPICS = {
  gameRequested: {
    baseName: 'game-requested',
    valueEvent: 'GameRequested',
    key: GAME_ID_KEY,
    partitions: GAME_TOPIC_PARTITIONS,
    retentionMs: GAME_TOPIC_RETENTION_MS,
    cleanupPolicy: 'delete',
    description: 'launcher asks for a game; consumed by the questioner (and the answerer when describeFirst)',
  },
  questionAsked: {
    baseName: 'question-asked',
    valueEvent: 'QuestionAsked',
    key: GAME_ID_KEY,
    partitions: GAME_TOPIC_PARTITIONS,
    retentionMs: GAME_TOPIC_RETENTION_MS,
    cleanupPolicy: 'delete',
    description: 'questioner asked a question; consumed by the answerer',
  },
  answerGiven: {
    baseName: 'answer-given',
    valueEvent: 'AnswerGiven',
    key: GAME_ID_KEY,
    partitions: GAME_TOPIC_PARTITIONS,
    retentionMs: GAME_TOPIC_RETENTION_MS,
    cleanupPolicy: 'delete',
    description: 'answerer answered or described; consumed by the questioner',
  },
  // Key and topic keep the event's former name (GuessMade, now GameEnded, an Avro alias): a new topic
  // name would be a new subject (TopicNameStrategy) and strand the records retained on this one.
  guessMade: {
    baseName: 'guess-made',
    valueEvent: 'GameEnded',
    key: GAME_ID_KEY,
    partitions: GAME_TOPIC_PARTITIONS,
    retentionMs: GAME_TOPIC_RETENTION_MS,
    cleanupPolicy: 'delete',
    description: 'game over for the players (guess or failure ending); consumed by the referee',
  },
  gameJudged: {
    baseName: 'game-judged',
    valueEvent: 'GameJudged',
    key: GAME_ID_KEY,
    partitions: GAME_TOPIC_PARTITIONS,
    retentionMs: GAME_TOPIC_RETENTION_MS,
    cleanupPolicy: 'delete',
    description: "referee's verdict; consumed by the filter",
  },
  gameCurated: {
    baseName: 'game-curated',
    valueEvent: 'GameCurated',
    key: GAME_ID_KEY,
    partitions: GAME_TOPIC_PARTITIONS,
    retentionMs: GAME_TOPIC_RETENTION_MS,
    cleanupPolicy: 'delete',
    description: "filter's decision; consumed by the sink",
  },
  modelCalls: {
    baseName: 'model-calls',
    valueEvent: 'ModelCallRecorded',
    key: GAME_ID_KEY,
    // Same partition count as the game topics: a game's journal entries land on the partition number
    // its input events use, so one barrier marker per input partition covers every game on it.
    partitions: GAME_TOPIC_PARTITIONS,
    // Entries matter until shortly after their game's deadline (10 min by default): an hour of them
    // is what a restarted instance reads back, in segments small enough for retention to apply.
    retentionMs: 60 * 60 * 1000,
    segmentMs: 10 * 60 * 1000,
    cleanupPolicy: 'delete',
    description: 'model-call journal: each turn\'s model call outcome, written before the turn\'s output; read back by questioner and answerer so a redelivered turn reuses it (services/role-runtime/model-call-journal.ts)',
  },
  deadLetter: {
    baseName: 'dead-letter',
    valueEvent: 'DeadLetter',
    key: 'the original message key (game id when it had one)',
    partitions: 3,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    description: 'messages no handler could process, with their coordinates and the cause',
  },
  transcriptClaim: {
    baseName: 'transcript-claims',
    valueEvent: 'TranscriptClaim',
    key: 'transcript hash (Curation.transcriptHash), hex',
    partitions: GAME_TOPIC_PARTITIONS,
    // Kept for ever (and never compacted): the first claim of a transcript must stay the first.
    retentionMs: -1,
    cleanupPolicy: 'delete',
    description: "the filter's duplicate rule: the first claim of a transcript hash in the log owns it, across instances and restarts",
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicKey = keyof typeof TOPICS;

export const TOPIC_KEYS = Object.keys(TOPICS) as TopicKey[];

/** Event name carried by a topic. */
export type TopicEventName<K extends TopicKey> = (typeof TOPICS)[K]['valueEvent'];

/** The value interface of a topic, e.g. `TopicEvent<'guessMade'>` is `GameEnded`. */
export type TopicEvent<K extends TopicKey> = EventTypes[TopicEventName<K>];

export function topicName(key: TopicKey, prefix: string): string {
  return `${prefix}${TOPICS[key].baseName}`;
}

/** Schema-registry subject of a topic's values (TopicNameStrategy). */
export function subjectFor(topic: string): string {
  return `${topic}-value`;
}

/** Inverse of topicName: which topic key a full topic name belongs to under a prefix. */
export function topicKeyOf(topic: string, prefix: string): TopicKey | undefined {
  return TOPIC_KEYS.find((key) => topicName(key, prefix) === topic);
}

/** Topic-level configs for creating a topic (Kafka config names). */
export function topicConfigEntries(key: TopicKey): Array<{ name: string; value: string }> {
  const spec: TopicSpec = TOPICS[key];
  return [
    { name: 'retention.ms', value: String(spec.retentionMs) },
    { name: 'cleanup.policy', value: spec.cleanupPolicy },
    ...(spec.segmentMs !== undefined ? [{ name: 'segment.ms', value: String(spec.segmentMs) }] : []),
  ];
}
