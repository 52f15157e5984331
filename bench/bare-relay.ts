/**
 * The ceiling for bench:relay: a bare WebSocket relay with no persistence, no authentication and no
 * validation. It speaks the same frames as the Doublelock socket (auth → ready, send → sent + items to
 * the other members, ack ignored) so the same load generator drives both.
 * Run: tsx bench/bare-relay.ts <port>
 */
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.argv[2] ?? 0);
const members = new Map<string, Set<WebSocket>>();
let nextId = 1;

const wss = new WebSocketServer({ port, host: '127.0.0.1' });
wss.on('connection', (socket) => {
  let deviceId = '';
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data));
    if (frame.type === 'auth') {
      deviceId = frame.token;
      for (const groupId of frame.groups as string[]) {
        if (!members.has(groupId)) members.set(groupId, new Set());
        members.get(groupId)!.add(socket);
      }
      socket.send(JSON.stringify({ type: 'ready' }));
    } else if (frame.type === 'send') {
      const seq = nextId++;
      const item = { id: seq, kind: 'application', groupId: frame.groupId, seq, epoch: frame.message.epoch, sender: { username: 'u', deviceId }, clientMessageId: frame.message.clientMessageId, payload: frame.message.ciphertext, serverTime: Date.now() };
      const out = JSON.stringify({ type: 'items', items: [item] });
      for (const member of members.get(frame.groupId) ?? []) if (member !== socket) member.send(out);
      socket.send(JSON.stringify({ type: 'sent', clientMessageId: frame.message.clientMessageId, result: { seq, serverTime: item.serverTime } }));
    }
  });
});
wss.on('listening', () => console.log(`bare relay listening on ${(wss.address() as { port: number }).port}`));
