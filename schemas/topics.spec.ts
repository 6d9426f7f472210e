import { EventNames } from './generated/events';
import { subjectFor, TOPIC_KEYS, topicConfigEntries, topicKeyOf, topicName, TOPICS } from './topics';

describe('topic map', () => {
  it('prefixes base names', () => {
    expect(topicName('gameRequested', 'dg.')).toBe('dg.game-requested');
    expect(topicName('deadLetter', 't123.')).toBe('t123.dead-letter');
  });

  it('names subjects <topic>-value', () => {
    expect(subjectFor('dg.guess-made')).toBe('dg.guess-made-value');
  });

  it('maps full names back to keys under a prefix only', () => {
    expect(topicKeyOf('x.answer-given', 'x.')).toBe('answerGiven');
    expect(topicKeyOf('dg.answer-given', 'x.')).toBeUndefined();
  });

  it('has a distinct base name per topic and a value event that exists', () => {
    const bases = TOPIC_KEYS.map((k) => TOPICS[k].baseName);
    expect(new Set(bases).size).toBe(bases.length);
    for (const key of TOPIC_KEYS) expect(EventNames).toContain(TOPICS[key].valueEvent);
  });

  it('carries every event type on exactly one topic', () => {
    expect(TOPIC_KEYS.map((k) => TOPICS[k].valueEvent).sort()).toEqual([...EventNames].sort());
  });

  it('gives Kafka topic configs', () => {
    expect(topicConfigEntries('gameJudged')).toEqual([
      { name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) },
      { name: 'cleanup.policy', value: 'delete' },
    ]);
  });
});
