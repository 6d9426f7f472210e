// generated — do not edit. Source: schemas/avro/**/*.avsc; regenerate with `npm run generate:types`.

/**
 * The model a role plays with: recorded on every game so analytics can compare models.
 * Avro: dialoggames.v1.ModelSpec
 */
export interface ModelSpec {
  /**
   * Base URL of the OpenAI-compatible endpoint actually used; filled in by the role.
   * Default: ""
   */
  endpoint: string;
  /** Model name sent to the endpoint. */
  model: string;
  /** Version of the prompt files the role used. */
  promptVersion: string;
  /**
   * Sampling temperature.
   * Default: 0
   */
  temperature: number;
  /**
   * Nucleus sampling mass, when set.
   * Default: null
   */
  topP: number | null;
  /**
   * Completion token cap per call.
   * Default: 256
   */
  maxTokens: number;
}

/**
 * What one turn's model call(s) really sent and cost: recorded per turn and per ending, and in the model-call journal.
 * Avro: dialoggames.v1.CallUsage
 */
export interface CallUsage {
  /** questioner or answerer: the role that called. */
  role: string;
  /** The spec actually sent (endpoint, model incl. the game's override, prompt version, sampling, prices). */
  model: ModelSpec;
  /**
   * Raw completion text of the call whose output was used.
   * Default: ""
   */
  rawOutput: string;
  /**
   * Wall time of the successful attempt(s), summed over repair calls.
   * Default: 0
   */
  latencyMs: number;
  /**
   * Prompt tokens over every call of the turn (repair included).
   * Default: 0
   */
  promptTokens: number;
  /**
   * Completion tokens over every call of the turn.
   * Default: 0
   */
  completionTokens: number;
  /**
   * Cached prompt tokens when the endpoint reports them.
   * Default: 0
   */
  cachedTokens: number;
  /**
   * Cost over every call of the turn at the role's prices.
   * Default: 0
   */
  costUsd: number;
  /**
   * Successful model calls of the turn: 2 when a repair attempt was made.
   * Default: 1
   */
  modelCalls: number;
  /**
   * USD per 1M prompt tokens the role was configured with.
   * Default: 0
   */
  pricePromptPerMTok: number;
  /**
   * USD per 1M completion tokens the role was configured with.
   * Default: 0
   */
  priceCompletionPerMTok: number;
  /**
   * Retries by cause (rate_limited, unavailable, server_error, connection, timeout) as the model client reported them.
   * Default: {}
   */
  retries: Record<string, number>;
}

/**
 * The filter's decision on one judged game.
 * Avro: dialoggames.v1.Curation
 */
export interface Curation {
  /** True when the game goes into the fine-tuning dataset. */
  kept: boolean;
  /**
   * Rule ids that rejected the game (empty when kept).
   * Default: []
   */
  reasons: string[];
  /** Version of the filter rules that decided. */
  filterVersion: string;
  /**
   * SHA-256 of the normalised transcript, for duplicate detection.
   * Default: ""
   */
  transcriptHash: string;
  /** Epoch ms of the decision. */
  curatedAtMs: number;
}

/**
 * How the game ended: the questioner's guess, or why there is none.
 * Avro: dialoggames.v1.GameEnding
 */
export interface GameEnding {
  /** guess when the questioner guessed; otherwise what stopped the game. */
  kind: EndingKind;
  /** Role that ended the game. */
  endedBy: EndedBy;
  /**
   * The questioner's raw final output.
   * Default: null
   */
  rawGuess: string | null;
  /**
   * Parsed guess as an index into the display order.
   * Default: null
   */
  guessedIndex: number | null;
  /**
   * Image id at guessedIndex.
   * Default: null
   */
  guessedImageId: string | null;
  /**
   * Wall time of the guessing model call.
   * Default: 0
   */
  guessLatencyMs: number;
  /**
   * Prompt tokens of the guessing call.
   * Default: 0
   */
  guessPromptTokens: number;
  /**
   * Completion tokens of the guessing call.
   * Default: 0
   */
  guessCompletionTokens: number;
  /**
   * Cost of the guessing call at the role's configured prices.
   * Default: 0
   */
  guessCostUsd: number;
  /**
   * What went wrong and where, for endings other than guess.
   * Default: null
   */
  errorMessage: string | null;
  /** Epoch ms when the game ended. */
  endedAtMs: number;
  /**
   * The model call(s) that ended the game (the guess, or a late, unparseable or failed call of either role) with tokens and cost, so no call's cost is dropped; null when no call was made.
   * Default: null
   */
  call: CallUsage | null;
}

/** Avro: dialoggames.v1.EndingKind */
export type EndingKind = 'guess' | 'no_guess' | 'turn_limit' | 'unparseable_output' | 'model_error' | 'bad_image' | 'timeout' | 'rule_violation' | 'bad_input';
export const EndingKindSymbols = ['guess', 'no_guess', 'turn_limit', 'unparseable_output', 'model_error', 'bad_image', 'timeout', 'rule_violation', 'bad_input'] as const satisfies readonly EndingKind[];

/** Avro: dialoggames.v1.EndedBy */
export type EndedBy = 'questioner' | 'answerer' | 'launcher' | 'referee';
export const EndedBySymbols = ['questioner', 'answerer', 'launcher', 'referee'] as const satisfies readonly EndedBy[];

/**
 * Identity and provenance of one game; the Kafka key of every game event is gameId.
 * Avro: dialoggames.v1.GameHeader
 */
export interface GameHeader {
  /** Unique game id (UUID). */
  gameId: string;
  /** The launch (dg play / npm start session) that requested the game. */
  runId: string;
  /** Self-improvement iteration k whose model M_k plays. */
  iteration: number;
  /** Dataset name the candidates were drawn from. */
  dataset: string;
  /** Seed of the sampler and the display shuffle. */
  seed: number;
  /**
   * Candidate sampler name.
   * Default: "random"
   */
  sampler: string;
  /** Epoch ms when the launcher requested the game. */
  requestedAtMs: number;
  /** Epoch ms after which a role that sees the game ends it as timeout. */
  deadlineAtMs: number;
  /**
   * Name of the frozen evaluation set this game belongs to (dg eval run); null for training games. Evaluation games never reach the training dataset.
   * Default: null
   */
  evalSet: string | null;
}

/**
 * An image by reference: bytes never travel on Kafka.
 * Avro: dialoggames.v1.ImageRef
 */
export interface ImageRef {
  /** Dataset-unique image id. */
  id: string;
  /** Where the bytes live: file://, http(s):// or data: URI. */
  uri: string;
  /** Hex SHA-256 of the image bytes, checked by roles that load them. */
  sha256: string;
  /**
   * MIME type of the bytes.
   * Default: "image/png"
   */
  mediaType: string;
  /**
   * Optional caption from the dataset manifest.
   * Default: null
   */
  caption: string | null;
}

/**
 * Rules, candidates and models of one game; fixed once requested.
 * Avro: dialoggames.v1.GameSetup
 */
export interface GameSetup {
  /** All candidates in the questioner's (shuffled) display order; 2 to 16. */
  candidates: ImageRef[];
  /** Index of the target in candidates. Never shown to the questioner's model. */
  targetIndex: number;
  /**
   * Questions allowed before the questioner must guess.
   * Default: 10
   */
  maxTurns: number;
  /**
   * yesno: answers are yes/no/unsure; open: short free text.
   * Default: "yesno"
   */
  questionMode: QuestionMode;
  /**
   * The answerer opens with a description of the target.
   * Default: false
   */
  describeFirst: boolean;
  /** Model of the questioner (guesser). */
  questioner: ModelSpec;
  /** Model of the answerer (describer). */
  answerer: ModelSpec;
}

/** Avro: dialoggames.v1.QuestionMode */
export type QuestionMode = 'yesno' | 'open';
export const QuestionModeSymbols = ['yesno', 'open'] as const satisfies readonly QuestionMode[];

/**
 * One utterance of the dialog with the model call that produced it.
 * Avro: dialoggames.v1.Turn
 */
export interface Turn {
  /** 0-based position in the transcript. */
  index: number;
  /** Who said it. */
  speaker: Speaker;
  /** What it is. */
  kind: TurnKind;
  /** Parsed utterance as it enters the dialog. */
  text: string;
  /**
   * The model's raw completion text.
   * Default: ""
   */
  rawOutput: string;
  /**
   * Wall time of the model call.
   * Default: 0
   */
  latencyMs: number;
  /**
   * Prompt tokens reported by the endpoint.
   * Default: 0
   */
  promptTokens: number;
  /**
   * Completion tokens reported by the endpoint.
   * Default: 0
   */
  completionTokens: number;
  /**
   * Cost of the call at the role's configured prices.
   * Default: 0
   */
  costUsd: number;
  /** Epoch ms when the turn was produced. */
  createdAtMs: number;
  /**
   * The model call(s) behind this turn as really sent: model spec, cached tokens, calls, retries by cause. Null on turns recorded before it existed.
   * Default: null
   */
  usage: CallUsage | null;
}

/** Avro: dialoggames.v1.Speaker */
export type Speaker = 'questioner' | 'answerer';
export const SpeakerSymbols = ['questioner', 'answerer'] as const satisfies readonly Speaker[];

/** Avro: dialoggames.v1.TurnKind */
export type TurnKind = 'question' | 'answer' | 'description';
export const TurnKindSymbols = ['question', 'answer', 'description'] as const satisfies readonly TurnKind[];

/**
 * Everything the next role needs: roles keep no per-game state.
 * Avro: dialoggames.v1.GameState
 */
export interface GameState {
  /** Identity and provenance. */
  header: GameHeader;
  /** Rules, candidates and models. */
  setup: GameSetup;
  /**
   * Turns so far, oldest first.
   * Default: []
   */
  transcript: Turn[];
}

/**
 * The referee's verdict.
 * Avro: dialoggames.v1.Judgement
 */
export interface Judgement {
  /** success iff the guess is the target. */
  verdict: Verdict;
  /**
   * Closed set from the product spec; null on success.
   * Default: null
   */
  failureReason: FailureReason | null;
  /**
   * Human-readable explanation.
   * Default: ""
   */
  detail: string;
  /** Version of the referee rules. */
  refereeVersion: string;
  /** Epoch ms of the verdict. */
  judgedAtMs: number;
}

/** Avro: dialoggames.v1.Verdict */
export type Verdict = 'success' | 'failure';
export const VerdictSymbols = ['success', 'failure'] as const satisfies readonly Verdict[];

/** Avro: dialoggames.v1.FailureReason */
export type FailureReason = 'wrong_guess' | 'no_guess' | 'turn_limit' | 'unparseable_output' | 'model_error' | 'timeout' | 'rule_violation' | 'bad_input';
export const FailureReasonSymbols = ['wrong_guess', 'no_guess', 'turn_limit', 'unparseable_output', 'model_error', 'timeout', 'rule_violation', 'bad_input'] as const satisfies readonly FailureReason[];

/**
 * The answerer answered (or described the target). Consumed by the questioner.
 * Avro: dialoggames.v1.AnswerGiven
 */
export interface AnswerGiven {
  /** State with the answer as the last transcript turn. */
  game: GameState;
  /** The answer text (same as the last turn). */
  answer: string;
}

/**
 * A message no handler could process, kept with its coordinates and the cause.
 * Avro: dialoggames.v1.DeadLetter
 */
export interface DeadLetter {
  /** Topic the message was read from. */
  sourceTopic: string;
  /** Partition it was read from. */
  sourcePartition: number;
  /** Kafka offset as a decimal string (64-bit safe). */
  sourceOffset: string;
  /**
   * Original key bytes (the game id), untouched.
   * Default: null
   */
  key: Buffer | null;
  /**
   * Original Kafka headers, untouched.
   * Default: []
   */
  headers: DeadLetterHeader[];
  /**
   * The original value bytes, untouched.
   * Default: null
   */
  value: Buffer | null;
  /** Consumer group that gave up on the message. */
  consumerGroup: string;
  /** decode | handler | validation | ... */
  errorKind: string;
  /** Class of the error. */
  errorName: string;
  /** What went wrong, and where. */
  errorMessage: string;
  /**
   * Stack trace of the error, when there is one.
   * Default: ""
   */
  errorStack: string;
  /**
   * Handler attempts before giving up.
   * Default: 1
   */
  attempts: number;
  /** Epoch ms when the message was dead-lettered. */
  failedAtMs: number;
}

/** Avro: dialoggames.v1.DeadLetterHeader */
export interface DeadLetterHeader {
  /** Header name. */
  key: string;
  /**
   * Header value bytes.
   * Default: null
   */
  value: Buffer | null;
}

/**
 * The filter's decision on a judged game. Consumed by the sink.
 * Avro: dialoggames.v1.GameCurated
 */
export interface GameCurated {
  /** The finished game. */
  game: GameState;
  /** How the game ended. */
  ending: GameEnding;
  /** The referee's verdict. */
  judgement: Judgement;
  /** The filter's decision. */
  curation: Curation;
}

/**
 * The game is over for the players: the questioner guessed, or a role could not continue (timeout, turn limit, model error, unparseable output, bad input, ...); ending.kind says which. Consumed by the referee. Renamed from GuessMade, which it is still an Avro alias of: the topic stays guess-made (subject guess-made-value, TopicNameStrategy), and a reader with this schema resolves records written as GuessMade by the alias, so the rename registers under BACKWARD (checked against Apicurio in test/contracts/codec.int-spec.ts). It is not FORWARD compatible: a consumer still on the GuessMade schema cannot read GameEnded records, so upgrade the referee (the consumer) no later than the roles that publish.
 * Avro: dialoggames.v1.GameEnded
 */
export interface GameEnded {
  /** The game, transcript up to its end. */
  game: GameState;
  /** The guess, or why the game ended without one. */
  ending: GameEnding;
}

/** @deprecated Former name of GameEnded (an Avro alias of dialoggames.v1.GameEnded). */
export type GuessMade = GameEnded;

/**
 * The referee's verdict on a finished game. Consumed by the filter.
 * Avro: dialoggames.v1.GameJudged
 */
export interface GameJudged {
  /** The finished game. */
  game: GameState;
  /** How the game ended. */
  ending: GameEnding;
  /** The referee's verdict. */
  judgement: Judgement;
}

/**
 * The launcher asks for one game to be played. Consumed by the questioner (and the answerer when describeFirst).
 * Avro: dialoggames.v1.GameRequested
 */
export interface GameRequested {
  /** Header, setup and an empty transcript. */
  game: GameState;
}

/**
 * The model-call journal: the outcome of one turn's model call, written before the turn's output is published, so a role re-handling the turn (redelivery after a crash or rebalance) reuses it instead of calling the model again. Also barrier markers an instance writes to know it has read the journal up to now.
 * Avro: dialoggames.v1.ModelCallRecorded
 */
export interface ModelCallRecorded {
  /** Game id (also the Kafka key). */
  gameId: string;
  /** completion: the call succeeded; failure: the call failed for good (the game ends model_error); barrier: a read marker, no call. */
  entry: JournalEntryKind;
  /**
   * questioner or answerer.
   * Default: ""
   */
  role: string;
  /**
   * Transcript length of the game state the call was made for (the turn's fence).
   * Default: 0
   */
  transcriptLength: number;
  /**
   * The completion with its spec, tokens, cost and retries (completion entries).
   * Default: null
   */
  usage: CallUsage | null;
  /**
   * The final model error (failure entries).
   * Default: null
   */
  errorMessage: string | null;
  /**
   * The clock value the turn was decided with, so a re-handled turn produces the identical event.
   * Default: 0
   */
  decidedAtMs: number;
  /**
   * The game's deadline: readers forget entries some time after it.
   * Default: 0
   */
  deadlineAtMs: number;
  /**
   * Barrier markers: the reader waiting for it.
   * Default: ""
   */
  nonce: string;
}

/** Avro: dialoggames.v1.JournalEntryKind */
export type JournalEntryKind = 'completion' | 'failure' | 'barrier';
export const JournalEntryKindSymbols = ['completion', 'failure', 'barrier'] as const satisfies readonly JournalEntryKind[];

/**
 * The questioner asked a question. Consumed by the answerer.
 * Avro: dialoggames.v1.QuestionAsked
 */
export interface QuestionAsked {
  /** State with the question as the last transcript turn. */
  game: GameState;
  /** The question text (same as the last turn). */
  question: string;
}

/**
 * A filter instance claims a transcript for a game it would keep. Keyed by the transcript hash, so every claim of one transcript is on one partition, and the first claim in that partition's log owns the transcript: later games with the same transcript are duplicates, on any instance, after a restart and on replay.
 * Avro: dialoggames.v1.TranscriptClaim
 */
export interface TranscriptClaim {
  /** Hex SHA-256 of the candidates and normalised dialog (Curation.transcriptHash). */
  transcriptHash: string;
  /** The claiming game. */
  gameId: string;
  /** Run of the claiming game, for reading the log by hand. */
  runId: string;
  /** When the claim was published (informative: log order, not this time, decides). */
  claimedAtMs: number;
}

/** Every event type that travels on a topic, by name. */
export interface EventTypes {
  AnswerGiven: AnswerGiven;
  DeadLetter: DeadLetter;
  GameCurated: GameCurated;
  GameEnded: GameEnded;
  GameJudged: GameJudged;
  GameRequested: GameRequested;
  ModelCallRecorded: ModelCallRecorded;
  QuestionAsked: QuestionAsked;
  TranscriptClaim: TranscriptClaim;
}

export type EventName = keyof EventTypes;

export const EventNames = ['AnswerGiven', 'DeadLetter', 'GameCurated', 'GameEnded', 'GameJudged', 'GameRequested', 'ModelCallRecorded', 'QuestionAsked', 'TranscriptClaim'] as const satisfies readonly EventName[];

/** Avro full name of each event (what the registered schema is called). */
export const EventFullNames: Readonly<Record<EventName, string>> = {
  AnswerGiven: 'dialoggames.v1.AnswerGiven',
  DeadLetter: 'dialoggames.v1.DeadLetter',
  GameCurated: 'dialoggames.v1.GameCurated',
  GameEnded: 'dialoggames.v1.GameEnded',
  GameJudged: 'dialoggames.v1.GameJudged',
  GameRequested: 'dialoggames.v1.GameRequested',
  ModelCallRecorded: 'dialoggames.v1.ModelCallRecorded',
  QuestionAsked: 'dialoggames.v1.QuestionAsked',
  TranscriptClaim: 'dialoggames.v1.TranscriptClaim',
};
