import type { TopicKey } from '../../../schemas/topics';
/** The roles `dg run` knows; each is a Nest module under services/<role>. */
export const ROLE_NAMES = ['questioner', 'answerer', 'referee', 'filter', 'sink'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export function isRoleName(name: string): name is RoleName {
  return (ROLE_NAMES as readonly string[]).includes(name);
}

/** Consumer group of a role: every instance of one role shares it, so Kafka spreads games across them. */
export function roleGroupId(topicPrefix: string, role: RoleName): string {
  return `${topicPrefix}${role}`;
}

/** Topics each role consumes: its subscription, and what `dg replay <role>` rewinds. */
export const ROLE_INPUTS = {
  questioner: ['gameRequested', 'answerGiven'],
  answerer: ['questionAsked', 'gameRequested'],
  referee: ['guessMade'],
  filter: ['gameJudged'],
  sink: ['gameCurated'],
} as const satisfies Record<RoleName, readonly TopicKey[]>;
