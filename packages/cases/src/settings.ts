/** The operator's settings, kept in the store so every node uses the same targets. */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { Db } from '@doublelock/store';
import { operatorTargets, type OperatorTargets } from './legalBasis.ts';

export class SettingsStore {
  constructor(private readonly db: Db) {}

  async targets(): Promise<OperatorTargets> {
    const row = await this.db.get<{ value: string }>("SELECT value FROM case_settings WHERE name = 'targets'");
    return operatorTargets.parse(row ? JSON.parse(row.value) : {});
  }

  /** Merges a change into the targets; the whole result is checked before it is stored. */
  async setTargets(change: Partial<OperatorTargets>): Promise<OperatorTargets> {
    const result = operatorTargets.safeParse({ ...(await this.targets()), ...change });
    if (!result.success) throw new DomainError(ErrorCode.validation, `Invalid targets: ${result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    await this.db.run("INSERT INTO case_settings (name, value) VALUES ('targets', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", [JSON.stringify(result.data)]);
    return result.data;
  }
}
