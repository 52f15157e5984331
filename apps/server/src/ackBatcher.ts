/**
 * Acknowledgements arrive one per pushed frame, tens of thousands a second. Those arriving in the same
 * tick are deleted in one store transaction instead of one each.
 */
import type { DeliveryStore } from '@doublelock/store';

type Waiting = { deviceId: string; ids: number[]; resolve: (deleted: number) => void; reject: (error: unknown) => void };

const MAX_BATCH = 2000;

export class AckBatcher {
  #waiting: Waiting[] = [];
  #scheduled = false;

  constructor(private readonly delivery: DeliveryStore) {}

  ack(deviceId: string, ids: number[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ deviceId, ids, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, MAX_BATCH);
      this.delivery.ackMany(batch).then(
        (deleted) => batch.forEach((w, i) => w.resolve(deleted[i]!)),
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      );
    }
  }
}
