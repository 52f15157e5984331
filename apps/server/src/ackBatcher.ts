/**
 * Acknowledgements arrive one per pushed frame, tens of thousands a second. Those arriving together are
 * deleted in one store statement instead of one each: at most MAX_IN_FLIGHT deletes run at once, and
 * acknowledgements arriving meanwhile wait and go together in the next one, so under load the batches
 * grow instead of the statements (and their round trips) multiplying.
 */
import type { DeliveryStore } from '@doublelock/store';

type Waiting = { deviceId: string; ids: number[]; resolve: (deleted: number) => void; reject: (error: unknown) => void };

const MAX_BATCH = 2000;
const MAX_IN_FLIGHT = 4;

export class AckBatcher {
  #waiting: Waiting[] = [];
  #scheduled = false;
  #inFlight = 0;

  constructor(private readonly delivery: DeliveryStore) {}

  ack(deviceId: string, ids: number[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ deviceId, ids, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#waiting.length === 0 || this.#inFlight >= MAX_IN_FLIGHT) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#waiting.length > 0 && this.#inFlight < MAX_IN_FLIGHT) {
      const batch = this.#waiting.splice(0, MAX_BATCH);
      this.#inFlight++;
      this.delivery
        .ackMany(batch)
        .then(
          (deleted) => batch.forEach((w, i) => w.resolve(deleted[i]!)),
          (error: unknown) => batch.forEach((w) => w.reject(error)),
        )
        .finally(() => {
          this.#inFlight--;
          this.#schedule();
        });
    }
  }
}
