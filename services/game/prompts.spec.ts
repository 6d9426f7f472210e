import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPrompts, PROMPT_NAMES, renderPrompt } from './prompts';

describe('loadPrompts', () => {
  it('loads every template of v1', () => {
    const prompts = loadPrompts('v1');
    expect(prompts.version).toBe('v1');
    for (const name of PROMPT_NAMES) expect(prompts.templates[name].length).toBeGreaterThan(0);
  });

  it("names each role's own word in its system prompt and never the other's (the simulated VLM keys on them)", () => {
    const { templates } = loadPrompts('v1');
    const questionerSide = [templates['questioner.system'], templates['questioner.rules.yesno'], templates['questioner.rules.open']].join(' ');
    const answererSide = [templates['answerer.system'], templates['answerer.rules.yesno'], templates['answerer.rules.open']].join(' ');
    expect(questionerSide).toMatch(/\bquestioner\b/);
    expect(questionerSide).not.toMatch(/answerer/i);
    expect(answererSide).toMatch(/\banswerer\b/);
    expect(answererSide).not.toMatch(/questioner/i);
  });

  it('rejects unknown versions and versions that would leave the prompts folder', () => {
    expect(() => loadPrompts('v999')).toThrow(/unknown prompt version v999/);
    expect(() => loadPrompts('../v1')).toThrow(/invalid prompt version/);
    expect(() => loadPrompts('')).toThrow(/invalid prompt version/);
  });

  it('names the missing file of an incomplete version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dg-prompts-'));
    try {
      mkdirSync(join(dir, 'broken'));
      writeFileSync(join(dir, 'broken', 'questioner.system.md'), 'You are the questioner.');
      expect(() => loadPrompts('broken', dir)).toThrow(/lacks questioner\.rules\.yesno\.md/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderPrompt', () => {
  const prompts = loadPrompts('v1');

  it('fills placeholders', () => {
    expect(renderPrompt(prompts, 'questioner.turn', { questionsLeft: 3, maxTurns: 10 })).toBe(
      'Questions left: 3 of 10. Ask one question or make a guess, as JSON.',
    );
  });

  it('fails on a placeholder without a value, naming it', () => {
    expect(() => renderPrompt(prompts, 'questioner.turn', { questionsLeft: 3 })).toThrow(/questioner\.turn needs \{\{maxTurns\}\}/);
  });

  it('does not expand placeholders inside values', () => {
    expect(renderPrompt(prompts, 'questioner.description', { description: '{{maxTurns}}' })).toContain('{{maxTurns}}');
  });
});

describe('prompt version v2 (for real VLMs)', () => {
  it('has every template, the repair instructions, and keeps v1 as released', () => {
    const v2 = loadPrompts('v2');
    for (const name of PROMPT_NAMES) expect(v2.templates[name].length).toBeGreaterThan(0);
    expect(v2.optional?.['questioner.repair']).toMatch(/JSON/);
    expect(v2.optional?.['answerer.repair']).toMatch(/JSON/);
    expect(loadPrompts('v1').optional).toEqual({});
  });

  it("keeps each role's word on its own side (the simulated VLM keys on them)", () => {
    const { templates, optional } = loadPrompts('v2');
    const answererSide = [
      templates['answerer.system'],
      templates['answerer.rules.yesno'],
      templates['answerer.rules.open'],
      optional?.['answerer.repair'] ?? '',
    ].join(' ');
    expect(templates['questioner.system']).toMatch(/\bquestioner\b/);
    expect(templates['questioner.system']).not.toMatch(/answerer/i);
    expect(answererSide).toMatch(/\banswerer\b/);
    expect(answererSide).not.toMatch(/questioner/i);
  });

  it('asks for JSON and labels the candidates in both question modes', () => {
    const { templates } = loadPrompts('v2');
    expect(templates['questioner.system']).toMatch(/\{"question": /);
    expect(templates['questioner.system']).toMatch(/Image 1 to Image \{\{numCandidates\}\}/);
    expect(templates['answerer.rules.open']).toMatch(/\{"answer": /);
    expect(templates['answerer.system']).toMatch(/\{"description": /);
  });
});
