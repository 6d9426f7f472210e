import * as net from 'node:net';

const METADATA_API_KEY = 3;
const METADATA_VERSION = 1;
const PROBE_CLIENT_ID = 'dg-stack-probe';

/** Metadata v1 request for all topics (null topic array): header + body in Kafka's wire format. */
export function encodeMetadataRequest(correlationId: number): Buffer {
  const clientId = Buffer.from(PROBE_CLIENT_ID, 'utf8');
  const payload = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4);
  let offset = payload.writeInt16BE(METADATA_API_KEY, 0);
  offset = payload.writeInt16BE(METADATA_VERSION, offset);
  offset = payload.writeInt32BE(correlationId, offset);
  offset = payload.writeInt16BE(clientId.length, offset);
  offset += clientId.copy(payload, offset);
  payload.writeInt32BE(-1, offset);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

export interface MetadataSummary {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  controllerId: number;
}

/** Reads the broker list and controller id from a Metadata v1 response body (after the size prefix). */
export function decodeMetadataResponse(body: Buffer, correlationId: number): MetadataSummary {
  let offset = 0;
  const int32 = () => {
    const v = body.readInt32BE(offset);
    offset += 4;
    return v;
  };
  const nullableString = () => {
    const length = body.readInt16BE(offset);
    offset += 2;
    if (length < 0) return null;
    const text = body.toString('utf8', offset, offset + length);
    offset += length;
    return text;
  };
  if (int32() !== correlationId) throw new Error('metadata response has a different correlation id');
  const brokerCount = int32();
  const brokers: MetadataSummary['brokers'] = [];
  for (let i = 0; i < brokerCount; i++) {
    const nodeId = int32();
    const host = nullableString() ?? '';
    const port = int32();
    nullableString(); // rack
    brokers.push({ nodeId, host, port });
  }
  return { brokers, controllerId: int32() };
}

/**
 * A real Metadata round trip over the Kafka protocol: ready when the broker lists itself and names a
 * controller, i.e. the KRaft quorum has a leader. Raw bytes keep this probe free of any client library.
 */
export function kafkaAnswers(broker: string, timeoutMs = 3000): Promise<boolean> {
  const [host, portText] = broker.split(':');
  const correlationId = Math.floor(Math.random() * 0x7fffffff);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(portText) });
    let received = Buffer.alloc(0);
    const finish = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
    socket.once('connect', () => socket.write(encodeMetadataRequest(correlationId)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (received.length < 4 + size) return;
      try {
        const metadata = decodeMetadataResponse(received.subarray(4, 4 + size), correlationId);
        finish(metadata.brokers.length > 0 && metadata.controllerId >= 0);
      } catch {
        finish(false);
      }
    });
  });
}

/** GET url answers 2xx and, when given, the body passes `acceptBody`. */
export async function httpAnswers(url: string, acceptBody: (body: string) => boolean = () => true, timeoutMs = 3000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return response.ok && acceptBody(body);
  } catch {
    return false;
  }
}
