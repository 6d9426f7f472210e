import { decodeMetadataResponse, encodeMetadataRequest } from './probes';

function metadataResponse(correlationId: number, brokers: Array<{ nodeId: number; host: string; port: number }>, controllerId: number): Buffer {
  const parts: Buffer[] = [];
  const int32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v, 0);
    parts.push(b);
  };
  const string = (text: string | null) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(text === null ? -1 : Buffer.byteLength(text), 0);
    parts.push(b);
    if (text !== null) parts.push(Buffer.from(text));
  };
  int32(correlationId);
  int32(brokers.length);
  for (const broker of brokers) {
    int32(broker.nodeId);
    string(broker.host);
    int32(broker.port);
    string(null);
  }
  int32(controllerId);
  int32(0); // topics
  return Buffer.concat(parts);
}

describe('Kafka Metadata probe wire format', () => {
  it('encodes a size-prefixed Metadata v1 request for all topics', () => {
    const request = encodeMetadataRequest(42);
    expect(request.readInt32BE(0)).toBe(request.length - 4);
    expect(request.readInt16BE(4)).toBe(3); // api key: Metadata
    expect(request.readInt16BE(6)).toBe(1); // api version
    expect(request.readInt32BE(8)).toBe(42);
    const clientIdLength = request.readInt16BE(12);
    expect(request.toString('utf8', 14, 14 + clientIdLength)).toBe('dg-stack-probe');
    expect(request.readInt32BE(14 + clientIdLength)).toBe(-1); // null topic array: all topics
  });

  it('reads brokers and the controller id from a response', () => {
    const body = metadataResponse(7, [{ nodeId: 1, host: '127.0.0.1', port: 9092 }], 1);
    expect(decodeMetadataResponse(body, 7)).toEqual({ brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092 }], controllerId: 1 });
  });

  it('rejects a response to another request', () => {
    expect(() => decodeMetadataResponse(metadataResponse(8, [], -1), 7)).toThrow(/correlation id/);
  });
});
