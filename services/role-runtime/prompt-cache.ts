import { loadPrompts, type PromptSet } from '../game/prompts';

/** Prompt sets by version, read from disk once per process. */
export class PromptCache {
  private readonly sets = new Map<string, PromptSet>();

  get(version: string): PromptSet {
    let set = this.sets.get(version);
    if (!set) {
      set = loadPrompts(version);
      this.sets.set(version, set);
    }
    return set;
  }
}
