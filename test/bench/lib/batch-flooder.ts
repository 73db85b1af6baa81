/**
 * `node batch-flooder.js URL COUNT`: floods the router at URL with batched frames of COUNT CALLs
 * until killed: join over wamp.2.json.batched, send the frame, wait for the answer (ABORT and
 * close, or all results), again. Prints the number of frames sent on SIGTERM. A process of its
 * own, so the flood does not share the measuring client's event loop.
 */
import WebSocket from 'ws';

const url = process.argv[2]!;
const count = Number(process.argv[3] ?? 200_000);
const frame = Array.from({ length: count }, (_, i) => `[48,${i + 10},{},"svc.echo",[${i}]]`).join('\u001e');
let frames = 0;

process.on('SIGTERM', () => {
  process.stdout.write(`${frames}\n`, () => process.exit(0));
});

function once(): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'wamp.2.json.batched', { perMessageDeflate: false });
    let results = 0;
    const finish = () => {
      ws.terminate();
      resolve();
    };
    ws.on('error', finish);
    ws.on('close', finish);
    ws.on('open', () => ws.send('[1,"test_realm",{"roles":{"caller":{}}}]\u001e'));
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (text.startsWith('[2,')) {
        frames++;
        ws.send(frame);
        return;
      }
      results += text.split('\u001e').filter((t) => t.startsWith('[50,')).length;
      if (results >= count) finish();
    });
  });
}

for (;;) await once();
