import type * as avro from 'avsc';
import type { GameCurated } from '../../schemas/generated/events';
import { EventCodec, InMemorySchemaRegistry } from '../core/codec';
import type { Bench, BenchContext } from './context';
import { benchCuratedEvents } from './fixtures';
import { median, perSecond, ratioFigure, significant } from './stats';

export interface CodecBenchResult {
  event: 'GameCurated';
  transcript_turns: number;
  events_per_round: number;
  rounds: number;
  /** EventCodec.encode: validation (every field path) + Avro + Confluent framing, awaited per event. */
  codec_encode_events_per_s: number;
  /** EventCodec.decode: unframing, writer lookup, Avro, conversion to plain objects. */
  codec_decode_events_per_s: number;
  /** EventCodec.validate alone, to attribute the encode overhead. */
  validate_events_per_s: number;
  raw_encode_events_per_s: number;
  raw_decode_events_per_s: number;
  /** codec / raw (1 = no overhead, 0.25 = the codec does 4x the work of plain avsc). */
  encode_ratio: number | null;
  decode_ratio: number | null;
  /** Framed message (5-byte header + Avro body). */
  bytes_per_event: number;
  raw_bytes_per_event: number;
}

const TURNS = 10;

/**
 * EventCodec against plain avsc on the same values. No network: the codec gets an in-memory
 * registry, which it only consults once per schema (ids and writers are memoised), so the timed
 * loops are the same code paths as against the real registry. Each round times every variant over
 * all events; the first round warms the JIT and is dropped; medians are reported.
 */
export function codecBench(): Bench<CodecBenchResult> {
  return {
    name: 'codec',
    timeoutMs: 120_000,
    run: (ctx) => runCodecBench(ctx),
  };
}

async function runCodecBench(ctx: BenchContext): Promise<CodecBenchResult> {
  const count = ctx.quick ? 5_000 : 20_000;
  const rounds = ctx.quick ? 3 : 5;
  const events = benchCuratedEvents(count, { turns: TURNS, idPrefix: 'codec' });
  const codec = new EventCodec({ topicPrefix: 'bench.', registry: new InMemorySchemaRegistry() });
  const type = codec.eventSchema('GameCurated').type;
  await codec.schemaIdFor('gameCurated');

  const rates = { codecEncode: [] as number[], codecDecode: [] as number[], validate: [] as number[], rawEncode: [] as number[], rawDecode: [] as number[] };
  let framed: Buffer[] = [];
  let bodies: Buffer[] = [];
  for (let round = 0; round <= rounds; round++) {
    ctx.checkpoint();
    const measured = round > 0;
    const codecEncode = await timed(async () => {
      framed = [];
      for (const event of events) framed.push(await codec.encode('gameCurated', event));
    });
    const codecDecode = await timed(async () => {
      for (const bytes of framed) await codec.decodeAs('gameCurated', bytes);
    });
    const validate = await timed(async () => {
      for (const event of events) codec.validate('GameCurated', event);
    });
    const rawEncode = await timed(async () => {
      bodies = events.map((event) => type.toBuffer(event));
    });
    const rawDecode = await timed(async () => {
      for (const body of bodies) type.fromBuffer(body);
    });
    if (!measured) continue;
    rates.codecEncode.push(perSecond(count, codecEncode));
    rates.codecDecode.push(perSecond(count, codecDecode));
    rates.validate.push(perSecond(count, validate));
    rates.rawEncode.push(perSecond(count, rawEncode));
    rates.rawDecode.push(perSecond(count, rawDecode));
    ctx.progress(`round ${round}/${rounds}: encode ${Math.round(perSecond(count, codecEncode))}/s vs raw ${Math.round(perSecond(count, rawEncode))}/s`);
  }
  checkRoundTrip(type, events[0]!, framed[0]!, await codec.decodeAs('gameCurated', framed[0]!));

  const codecEncode = median(rates.codecEncode);
  const codecDecode = median(rates.codecDecode);
  const rawEncode = median(rates.rawEncode);
  const rawDecode = median(rates.rawDecode);
  const framedBytes = framed.reduce((sum, b) => sum + b.length, 0) / framed.length;
  const rawBytes = bodies.reduce((sum, b) => sum + b.length, 0) / bodies.length;
  return {
    event: 'GameCurated',
    transcript_turns: TURNS,
    events_per_round: count,
    rounds,
    codec_encode_events_per_s: significant(codecEncode),
    codec_decode_events_per_s: significant(codecDecode),
    validate_events_per_s: significant(median(rates.validate)),
    raw_encode_events_per_s: significant(rawEncode),
    raw_decode_events_per_s: significant(rawDecode),
    encode_ratio: ratioFigure(codecEncode, rawEncode),
    decode_ratio: ratioFigure(codecDecode, rawDecode),
    bytes_per_event: significant(framedBytes),
    raw_bytes_per_event: significant(rawBytes),
  };
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** A bench of a codec that garbles data would measure nothing: check one event both ways. */
function checkRoundTrip(type: avro.Type, original: GameCurated, framed: Buffer, decoded: GameCurated): void {
  if (!framed.subarray(5).equals(type.toBuffer(original))) throw new Error('codec body differs from the raw avsc encoding of the same value');
  if (decoded.game.header.gameId !== original.game.header.gameId || decoded.game.transcript.length !== original.game.transcript.length) {
    throw new Error('codec did not decode what it encoded');
  }
}
