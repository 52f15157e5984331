/** Prometheus metrics (one registry per server instance, so several can live in one process). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'doublelock_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    messagesAccepted: new Counter({ name: 'doublelock_messages_accepted_total', help: 'Messages and commits accepted', labelNames: ['kind'] as const, registers: [registry] }),
    deliveriesQueued: new Counter({ name: 'doublelock_deliveries_queued_total', help: 'Mailbox entries written (one per recipient device)', registers: [registry] }),
    deliveriesAcked: new Counter({ name: 'doublelock_deliveries_acked_total', help: 'Mailbox entries acknowledged and deleted', registers: [registry] }),
    itemsPushed: new Counter({ name: 'doublelock_items_pushed_total', help: 'Mailbox items pushed over WebSocket', registers: [registry] }),
    sockets: new Gauge({ name: 'doublelock_websockets', help: 'Open authenticated WebSockets', registers: [registry] }),
    storeFull: new Gauge({ name: 'doublelock_store_full', help: '1 while the store is out of space (writes refused with 507, acks still accepted)', registers: [registry] }),
    slowReaders: new Counter({ name: 'doublelock_websocket_slow_readers_total', help: 'WebSockets dropped because their reader fell too far behind', registers: [registry] }),
    socketsClosed: new Counter({ name: 'doublelock_websocket_closed_total', help: 'WebSockets closed by the server, by reason', labelNames: ['reason'] as const, registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
