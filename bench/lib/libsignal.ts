/**
 * Signal's own library (`@signalapp/libsignal-client`, Rust compiled to a native Node module) as the peer
 * of `npm run bench:client`: per-message encrypt and decrypt for
 *  - 1:1, the Double Ratchet (Signal Protocol) after the first reply, so both sides are past the PQXDH
 *    pre-key message and every message is a plain `SignalMessage`;
 *  - groups, sender keys (one `SenderKeyDistributionMessage` handed over first, then `groupEncrypt` /
 *    `groupDecrypt`; the cost does not depend on the group's size).
 * The stores keep libsignal's record objects in memory (no serialisation, no disk), the kindest setting
 * for libsignal; sealed sender (one more X25519 per message in Signal's apps) is not included.
 */
import {
  CiphertextMessageType,
  Direction,
  groupDecrypt,
  groupEncrypt,
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KEMKeyPair,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PreKeyStore,
  PrivateKey,
  processPreKeyBundle,
  processSenderKeyDistributionMessage,
  ProtocolAddress,
  PublicKey,
  SenderKeyDistributionMessage,
  SenderKeyRecord,
  SenderKeyStore,
  SessionRecord,
  SessionStore,
  SignalMessage,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  SignedPreKeyRecord,
  SignedPreKeyStore,
  type Uuid,
} from '@signalapp/libsignal-client';
import { randomUUID } from 'node:crypto';

class Sessions extends SessionStore {
  private readonly records = new Map<string, SessionRecord>();
  async saveSession(name: ProtocolAddress, record: SessionRecord) {
    this.records.set(name.toString(), record);
  }
  async getSession(name: ProtocolAddress) {
    return this.records.get(name.toString()) ?? null;
  }
  async getExistingSessions(addresses: ProtocolAddress[]) {
    return addresses.map((a) => this.records.get(a.toString())!).filter(Boolean);
  }
}

class Identities extends IdentityKeyStore {
  private readonly known = new Map<string, PublicKey>();
  constructor(
    private readonly own: IdentityKeyPair,
    private readonly registrationId: number,
  ) {
    super();
  }
  async getIdentityKey() {
    return this.own.privateKey;
  }
  async getLocalRegistrationId() {
    return this.registrationId;
  }
  async saveIdentity(name: ProtocolAddress, key: PublicKey) {
    const before = this.known.get(name.toString());
    this.known.set(name.toString(), key);
    return before && !before.equals(key) ? IdentityChange.ReplacedExisting : IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(name: ProtocolAddress, key: PublicKey, _direction: Direction) {
    const known = this.known.get(name.toString());
    return !known || known.equals(key);
  }
  async getIdentity(name: ProtocolAddress) {
    return this.known.get(name.toString()) ?? null;
  }
}

class PreKeys extends PreKeyStore {
  readonly records = new Map<number, PreKeyRecord>();
  async savePreKey(id: number, record: PreKeyRecord) {
    this.records.set(id, record);
  }
  async getPreKey(id: number) {
    return this.records.get(id)!;
  }
  async removePreKey(id: number) {
    this.records.delete(id);
  }
}

class SignedPreKeys extends SignedPreKeyStore {
  readonly records = new Map<number, SignedPreKeyRecord>();
  async saveSignedPreKey(id: number, record: SignedPreKeyRecord) {
    this.records.set(id, record);
  }
  async getSignedPreKey(id: number) {
    return this.records.get(id)!;
  }
}

class KyberPreKeys extends KyberPreKeyStore {
  readonly records = new Map<number, KyberPreKeyRecord>();
  async saveKyberPreKey(id: number, record: KyberPreKeyRecord) {
    this.records.set(id, record);
  }
  async getKyberPreKey(id: number) {
    return this.records.get(id)!;
  }
  async markKyberPreKeyUsed() {}
}

class SenderKeys extends SenderKeyStore {
  private readonly records = new Map<string, SenderKeyRecord>();
  async saveSenderKey(sender: ProtocolAddress, distributionId: Uuid, record: SenderKeyRecord) {
    this.records.set(`${sender.toString()}/${distributionId}`, record);
  }
  async getSenderKey(sender: ProtocolAddress, distributionId: Uuid) {
    return this.records.get(`${sender.toString()}/${distributionId}`) ?? null;
  }
}

interface Party {
  address: ProtocolAddress;
  sessions: Sessions;
  identities: Identities;
  preKeys: PreKeys;
  signedPreKeys: SignedPreKeys;
  kyberPreKeys: KyberPreKeys;
  senderKeys: SenderKeys;
  bundle: PreKeyBundle;
}

function party(name: string, registrationId: number): Party {
  const identity = IdentityKeyPair.generate();
  const preKey = PrivateKey.generate();
  const signedPreKey = PrivateKey.generate();
  const signedSignature = identity.privateKey.sign(signedPreKey.getPublicKey().serialize());
  const kyber = KEMKeyPair.generate();
  const kyberSignature = identity.privateKey.sign(kyber.getPublicKey().serialize());
  const p: Party = {
    address: ProtocolAddress.new(name, 1),
    sessions: new Sessions(),
    identities: new Identities(identity, registrationId),
    preKeys: new PreKeys(),
    signedPreKeys: new SignedPreKeys(),
    kyberPreKeys: new KyberPreKeys(),
    senderKeys: new SenderKeys(),
    bundle: PreKeyBundle.new(registrationId, 1, 1, preKey.getPublicKey(), 1, signedPreKey.getPublicKey(), signedSignature, identity.publicKey, 1, kyber.getPublicKey(), kyberSignature),
  };
  p.preKeys.records.set(1, PreKeyRecord.new(1, preKey.getPublicKey(), preKey));
  p.signedPreKeys.records.set(1, SignedPreKeyRecord.new(1, Date.now(), signedPreKey.getPublicKey(), signedPreKey, signedSignature));
  p.kyberPreKeys.records.set(1, KyberPreKeyRecord.new(1, Date.now(), kyber, kyberSignature));
  return p;
}

const encrypt = (from: Party, to: Party, plaintext: Uint8Array<ArrayBuffer>) => signalEncrypt(plaintext, to.address, from.address, from.sessions, from.identities);

async function decrypt(at: Party, from: Party, type: CiphertextMessageType, bytes: Uint8Array<ArrayBuffer>) {
  if (type === CiphertextMessageType.PreKey) {
    return signalDecryptPreKey(PreKeySignalMessage.deserialize(bytes), from.address, at.address, at.sessions, at.identities, at.preKeys, at.signedPreKeys, at.kyberPreKeys);
  }
  return signalDecrypt(SignalMessage.deserialize(bytes), from.address, at.address, at.sessions, at.identities);
}

export interface PerMessage {
  encryptMs: number;
  decryptMs: number;
  /** Process CPU time (all threads) per message: robust when other work shares the machine. */
  encryptCpuMs: number;
  decryptCpuMs: number;
}

/** One side of the comparison: makes a message's wire bytes, and opens them (throws if they do not open). */
export interface Contestant {
  send(): Promise<Uint8Array<ArrayBuffer>> | Uint8Array<ArrayBuffer>;
  receive(wire: Uint8Array<ArrayBuffer>): Promise<unknown>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Times contestants interleaved batch by batch (so load from elsewhere on the machine falls on all alike):
 * `batches` rounds, each sending `batch` messages per contestant then opening them. Per-message figures
 * are tens of microseconds, below one `performance.now()`'s useful resolution, hence batches; the figure
 * is the median batch time divided by its size.
 */
export async function timeInterleaved(contestants: Contestant[], batches: number, batch: number): Promise<PerMessage[]> {
  const samples = contestants.map(() => ({ enc: [] as number[], dec: [] as number[], encCpu: [] as number[], decCpu: [] as number[] }));
  for (let b = 0; b < batches; b++) {
    for (const [i, c] of contestants.entries()) {
      const wires: Uint8Array<ArrayBuffer>[] = [];
      let t = performance.now();
      let cpu = cpuMs();
      for (let j = 0; j < batch; j++) wires.push(await c.send());
      samples[i]!.enc.push((performance.now() - t) / batch);
      samples[i]!.encCpu.push((cpuMs() - cpu) / batch);
      t = performance.now();
      cpu = cpuMs();
      for (const wire of wires) await c.receive(wire);
      samples[i]!.dec.push((performance.now() - t) / batch);
      samples[i]!.decCpu.push((cpuMs() - cpu) / batch);
    }
  }
  return samples.map((s) => ({ encryptMs: median(s.enc), decryptMs: median(s.dec), encryptCpuMs: median(s.encCpu), decryptCpuMs: median(s.decCpu) }));
}

/** 1:1 over the Double Ratchet: PQXDH, Bob's first reply, then Alice → Bob messages. */
export async function libsignalOneToOne(payload: Uint8Array<ArrayBuffer>): Promise<Contestant> {
  const alice = party(randomUUID(), 1);
  const bob = party(randomUUID(), 2);
  await processPreKeyBundle(bob.bundle, bob.address, alice.address, alice.sessions, alice.identities);
  const first = await encrypt(alice, bob, payload);
  await decrypt(bob, alice, first.type(), first.serialize());
  const reply = await encrypt(bob, alice, payload);
  await decrypt(alice, bob, reply.type(), reply.serialize());
  return {
    async send() {
      const message = await encrypt(alice, bob, payload);
      if (message.type() !== CiphertextMessageType.Whisper) throw new Error('expected a Double Ratchet message after the reply');
      return message.serialize();
    },
    async receive(wire) {
      const plaintext = await decrypt(bob, alice, CiphertextMessageType.Whisper, wire);
      if (plaintext.length !== payload.length) throw new Error('libsignal decrypted something else');
    },
  };
}

/** Groups over sender keys: Alice's distribution message reaches Bob (over 1:1 in Signal), then messages. */
export async function libsignalGroup(payload: Uint8Array<ArrayBuffer>): Promise<Contestant> {
  const alice = party(randomUUID(), 1);
  const bob = party(randomUUID(), 2);
  const distributionId = randomUUID();
  const distribution = await SenderKeyDistributionMessage.create(alice.address, distributionId, alice.senderKeys);
  await processSenderKeyDistributionMessage(alice.address, SenderKeyDistributionMessage.deserialize(distribution.serialize()), bob.senderKeys);
  return {
    send: async () => (await groupEncrypt(alice.address, distributionId, alice.senderKeys, payload)).serialize(),
    async receive(wire) {
      const plaintext = await groupDecrypt(alice.address, bob.senderKeys, wire);
      if (plaintext.length !== payload.length) throw new Error('libsignal decrypted something else');
    },
  };
}
