/**
 * Roles of the notice-and-action workflow, granted to accounts by an administrator:
 * - moderator: works the case and appeal queues, decides;
 * - admin: grants roles, registers authorities' keys, sets targets, declares incidents, exports and reports;
 * - trusted_flagger: an organisation with DSA Art. 22 status (its account submits notices with priority);
 * - legal: reads preserved evidence (TCO Art. 6) and nothing else of the queue.
 * Authorities have no account: each is a signing key the operator registers (authority.ts).
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { Db } from '@doublelock/store';

export const ROLES = ['moderator', 'admin', 'trusted_flagger', 'legal'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

export interface RoleGrant {
  username: string;
  role: Role;
  /** The organisation behind a trusted flagger account (DSA Art. 22 status is an entity's). */
  organisation: string;
  grantedBy: string;
  grantedAt: number;
}

interface RoleRow {
  username: string;
  role: string;
  organisation: string;
  granted_by: string;
  granted_at: number;
}

const fromRow = (r: RoleRow): RoleGrant => ({ username: r.username, role: r.role as Role, organisation: r.organisation, grantedBy: r.granted_by, grantedAt: Number(r.granted_at) });

export class RoleStore {
  constructor(private readonly db: Db) {}

  async grant(username: string, role: Role, grantedBy: string, now: number, organisation = ''): Promise<RoleGrant> {
    if (!isRole(role)) throw new DomainError(ErrorCode.validation, `Unknown role "${String(role)}": one of ${ROLES.join(', ')}.`);
    if (role === 'trusted_flagger' && !organisation.trim()) throw new DomainError(ErrorCode.validation, 'A trusted flagger is an organisation: give its name.');
    await this.db.run(
      `INSERT INTO case_roles (username, role, organisation, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (username, role) DO UPDATE SET organisation = excluded.organisation, granted_by = excluded.granted_by, granted_at = excluded.granted_at`,
      [username, role, organisation.trim(), grantedBy, now],
    );
    return { username, role, organisation: organisation.trim(), grantedBy, grantedAt: now };
  }

  async revoke(username: string, role: Role): Promise<boolean> {
    return (await this.db.run('DELETE FROM case_roles WHERE username = ? AND role = ?', [username, role])).changes > 0;
  }

  async rolesOf(username: string): Promise<RoleGrant[]> {
    return (await this.db.all<RoleRow>('SELECT * FROM case_roles WHERE username = ? ORDER BY role', [username])).map(fromRow);
  }

  async grantOf(username: string, role: Role): Promise<RoleGrant | undefined> {
    const row = await this.db.get<RoleRow>('SELECT * FROM case_roles WHERE username = ? AND role = ?', [username, role]);
    return row && fromRow(row);
  }

  async list(role?: Role): Promise<RoleGrant[]> {
    const rows = role
      ? await this.db.all<RoleRow>('SELECT * FROM case_roles WHERE role = ? ORDER BY username', [role])
      : await this.db.all<RoleRow>('SELECT * FROM case_roles ORDER BY username, role');
    return rows.map(fromRow);
  }

  /** The grant, or a 403 naming the role the route needs. */
  async require(username: string, ...roles: Role[]): Promise<RoleGrant> {
    for (const role of roles) {
      const grant = await this.grantOf(username, role);
      if (grant) return grant;
    }
    throw new DomainError(ErrorCode.forbidden, `This needs the ${roles.join(' or ')} role.`);
  }
}
