/**
 * Observation points of the bus (metrics), passed in once through BusModule / EventBusOptions.
 * messageStarted is called when a handler starts on a message; the function it returns when the
 * message is done: 'handled', 'dead-lettered' or 'abandoned' (left for redelivery).
 */
export interface BusHooks {
  messageStarted(topic: string, groupId: string): (outcome: 'handled' | 'dead-lettered' | 'abandoned') => void;
}
