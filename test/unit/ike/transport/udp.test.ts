import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { IkeDemux, UdpIkeSockets, classifyNatTDatagram } from '../../../../src/ike/transport/udp.js';
import type { Endpoint, IkeDatagram } from '../../../../src/ike/runtime.js';

const local500: Endpoint = { address: '192.0.2.1', port: 500 };
const local4500: Endpoint = { address: '192.0.2.1', port: 4500 };
const peerA: Endpoint = { address: '203.0.113.10', port: 4500 };

describe('NAT-T port classification (RFC 3948)', () => {
  it('tells keepalive, IKE (non-ESP marker), ESP and runts apart', () => {
    expect(classifyNatTDatagram(Buffer.from([0xff]))).toBe('keepalive');
    expect(classifyNatTDatagram(Buffer.from([0, 0, 0, 0, 1, 2]))).toBe('ike');
    expect(classifyNatTDatagram(Buffer.from([0, 0, 0, 1, 1, 2]))).toBe('esp');
    expect(classifyNatTDatagram(Buffer.from([0, 0]))).toBe('short');
    expect(classifyNatTDatagram(Buffer.alloc(0))).toBe('short');
  });
});

describe('IkeDemux', () => {
  it('delivers each peer only its own datagrams, strips the marker, counts the rest', () => {
    const demux = new IkeDemux({ sendIke: () => {}, sendNatKeepalive: () => {} });
    const got: IkeDatagram[] = [];
    demux.view(peerA.address).onDatagram((d) => got.push(d));
    demux.receiveRaw(local4500, peerA, Buffer.from([0, 0, 0, 0, 9, 9]));
    demux.receiveRaw(local500, { address: peerA.address, port: 500 }, Buffer.from([1, 2, 3]));
    demux.receiveRaw(local4500, peerA, Buffer.from([0xff]));
    demux.receiveRaw(local4500, peerA, Buffer.from([1, 2, 3, 4, 5]));
    demux.receiveRaw(local4500, { address: '203.0.113.99', port: 4500 }, Buffer.from([0, 0, 0, 0, 7]));
    expect(got.map((d) => [...d.data])).toEqual([[9, 9], [1, 2, 3]]);
    expect(demux.counters).toMatchObject({ natKeepalivesReceived: 1, espWithoutDataplane: 1, unknownPeer: 1, received: 3 });
  });

  it('hands IKE messages and keepalives to the carrier unframed, with the port that picks the socket', () => {
    const sent: string[] = [];
    const demux = new IkeDemux({
      sendIke: (local, _remote, message) => sent.push(`ike:${local.port}:${message.toString('hex')}`),
      sendNatKeepalive: (local) => sent.push(`keepalive:${local.port}`),
    });
    const view = demux.view(peerA.address);
    view.send(local500, peerA, Buffer.from([7]));
    view.send(local4500, peerA, Buffer.from([7]));
    view.sendNatKeepalive(local4500, peerA);
    expect(sent).toEqual(['ike:500:07', 'ike:4500:07', 'keepalive:4500']);
    expect(demux.counters.sent).toBe(2);
  });
});

describe('UdpIkeSockets on loopback', () => {
  it('receives IKE on both ports from a real socket and answers on the same port', async () => {
    const sockets = await UdpIkeSockets.open({ bindAddress: '127.0.0.1', ikePort: 25500, natTPort: 29500 });
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', () => resolve()));
    const peerPort = peer.address().port;
    const view = sockets.demux.view('127.0.0.1');
    const received: IkeDatagram[] = [];
    view.onDatagram((d) => {
      received.push(d);
      view.send(d.local, d.remote, Buffer.from('pong'));
    });
    const replies: Buffer[] = [];
    peer.on('message', (m) => replies.push(m));
    peer.send(Buffer.from('ping'), 25500, '127.0.0.1');
    peer.send(Buffer.concat([Buffer.alloc(4), Buffer.from('ping')]), 29500, '127.0.0.1');
    const deadline = Date.now() + 2000;
    while (replies.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(received.map((d) => [d.local.port, d.remote.port, d.data.toString()])).toEqual([
      [500, peerPort, 'ping'],
      [4500, peerPort, 'ping'],
    ]);
    expect(replies.map((b) => b.toString('hex')).sort()).toEqual([Buffer.from('pong').toString('hex'), `00000000${Buffer.from('pong').toString('hex')}`].sort());
    peer.close();
    await sockets.close();
  });
});
