/** The key directory: MLS KeyPackages uploaded by devices and claimed by others (one per device). */
import { z } from 'zod';
import { bytes, deviceId, username } from './common.ts';

export const keyPackage = bytes({ min: 64, max: 16 * 1024 });

export const uploadKeyPackagesRequest = z.object({
  keyPackages: z.array(keyPackage).max(200),
  /** Handed out only when no one-time KeyPackage is left; replaced by a newer upload, never consumed. */
  lastResort: keyPackage.optional(),
});
export const keyPackageCountResponse = z.object({ oneTime: z.number().int(), lastResort: z.boolean() });

export const claimKeyPackagesRequest = z.object({ username });
export const claimKeyPackagesResponse = z.object({
  keyPackages: z.array(z.object({ deviceId, keyPackage, lastResort: z.boolean() })),
});
export type ClaimKeyPackagesResponse = z.infer<typeof claimKeyPackagesResponse>;
