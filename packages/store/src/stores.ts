/** Every domain store of the server, over one Db. */
import { AccountStore } from './accounts.ts';
import { BlobIndexStore } from './blobs.ts';
import type { Db } from './db.ts';
import { DeliveryStore } from './delivery.ts';
import { DirectoryStore } from './directory.ts';
import { InterceptionStore } from './interception.ts';
import { KeyDirectoryStore } from './keyDirectory.ts';
import { ReportStore } from './reports.ts';
import { SessionStore } from './sessions.ts';

export interface Stores {
  db: Db;
  accounts: AccountStore;
  sessions: SessionStore;
  keyDirectory: KeyDirectoryStore;
  delivery: DeliveryStore;
  blobs: BlobIndexStore;
  reports: ReportStore;
  directory: DirectoryStore;
  interception: InterceptionStore;
}

export function createStores(db: Db): Stores {
  return {
    db,
    accounts: new AccountStore(db),
    sessions: new SessionStore(db),
    keyDirectory: new KeyDirectoryStore(db),
    delivery: new DeliveryStore(db),
    blobs: new BlobIndexStore(db),
    reports: new ReportStore(db),
    directory: new DirectoryStore(db),
    interception: new InterceptionStore(db),
  };
}
