/**
 * Many small UDP flows for the ECMP benchmark: `send` opens one socket per flow (one source port
 * each, so the kernel's layer-4 multipath hash may put each on either tunnel) and sends a numbered
 * datagram on every flow every `intervalMs`; `sink` counts what arrives per flow and, when the
 * sender's last datagram (or the time limit) comes, prints one JSON line: per flow the datagrams
 * received and the longest run of missing sequence numbers times the interval (that flow's outage).
 * Both stop by themselves after `seconds`. Lab use only (run inside the lab's namespaces).
 *
 *   node flow-probe.js sink PORT SECONDS INTERVAL_MS
 *   node flow-probe.js send HOST PORT FLOWS SECONDS INTERVAL_MS
 *
 * Datagram: u32 flow, u32 sequence (from 1), u8 last (1 on the final datagram of each flow).
 */
import dgram from 'node:dgram';

export interface FlowReport {
  flows: { flow: number; received: number; longestGapMs: number }[];
}

function sink(port: number, seconds: number, intervalMs: number): void {
  const seen = new Map<number, Set<number>>();
  const last = new Map<number, number>();
  const socket = dgram.createSocket('udp4');
  const finish = (): void => {
    const flows = [...seen.keys()].sort((a, b) => a - b).map((flow) => {
      const got = seen.get(flow) ?? new Set<number>();
      const end = last.get(flow) ?? Math.max(0, ...got);
      let run = 0;
      let longest = 0;
      for (let seq = 1; seq <= end; seq++) {
        run = got.has(seq) ? 0 : run + 1;
        longest = Math.max(longest, run);
      }
      return { flow, received: got.size, longestGapMs: longest * intervalMs };
    });
    process.stdout.write(`${JSON.stringify({ flows } satisfies FlowReport)}\n`);
    socket.close();
    process.exit(0);
  };
  let expectedFlows = 0;
  socket.on('message', (m) => {
    if (m.length < 9) return;
    const flow = m.readUInt32BE(0);
    const seq = m.readUInt32BE(4);
    expectedFlows = Math.max(expectedFlows, flow + 1);
    let got = seen.get(flow);
    if (!got) seen.set(flow, (got = new Set()));
    got.add(seq);
    if (m[8] === 1) {
      last.set(flow, seq);
      if (last.size === expectedFlows) setTimeout(finish, 200);
    }
  });
  socket.bind(port);
  setTimeout(finish, seconds * 1000).unref();
}

function send(host: string, port: number, flows: number, seconds: number, intervalMs: number): void {
  const sockets = Array.from({ length: flows }, () => dgram.createSocket('udp4'));
  const total = Math.max(1, Math.floor((seconds * 1000) / intervalMs));
  let seq = 0;
  const start = Date.now();
  const tick = (): void => {
    seq += 1;
    const isLast = seq >= total;
    sockets.forEach((s, flow) => {
      const m = Buffer.alloc(64);
      m.writeUInt32BE(flow, 0);
      m.writeUInt32BE(seq, 4);
      m[8] = isLast ? 1 : 0;
      s.send(m, port, host);
    });
    if (isLast) {
      setTimeout(() => process.exit(0), 200);
      return;
    }
    // Scheduled against the start time, so a late tick does not stretch the run.
    setTimeout(tick, Math.max(0, start + seq * intervalMs - Date.now()));
  };
  tick();
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'sink') sink(Number(args[0]), Number(args[1]), Number(args[2]));
else if (mode === 'send') send(String(args[0]), Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]));
