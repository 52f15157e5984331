/**
 * Device credentials (RFC 9420 §5.3 "basic" credential): the identity names the account and the device,
 * `username:deviceId`. Neither part can contain ':' (see the protocol's username and deviceId rules).
 * What makes it trustworthy is not this text but the authentication service (authenticationService.ts).
 */
import { deviceId as deviceIdSchema, username as usernameSchema } from '@doublelock/protocol';
import type { Credential } from 'ts-mls';

export interface DeviceIdentity {
  username: string;
  deviceId: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function deviceCredential(identity: DeviceIdentity): Credential {
  return { credentialType: 'basic', identity: encoder.encode(`${identity.username}:${identity.deviceId}`) };
}

/** The identity a credential claims, or undefined when it is not one of ours. */
export function parseDeviceCredential(credential: Credential): DeviceIdentity | undefined {
  if (credential.credentialType !== 'basic') return undefined;
  let text: string;
  try {
    text = decoder.decode(credential.identity);
  } catch {
    return undefined;
  }
  const [username, deviceId, extra] = text.split(':');
  if (extra !== undefined || !usernameSchema.safeParse(username).success || !deviceIdSchema.safeParse(deviceId).success) return undefined;
  return { username: username!, deviceId: deviceId! };
}
