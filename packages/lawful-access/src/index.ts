/**
 * @doublelock/lawful-access: accountable lawful access — double-locked warrants, t-of-n custodians with
 * threshold ElGamal and Chaum–Pedersen proofs, the verifiable escrow access field, custodian release
 * rules, and the agency's side (request, verify, combine). See docs/LAWFUL-ACCESS.md.
 */
export * from './group.ts';
export * from './dleq.ts';
export * from './elgamal.ts';
export * from './epoch.ts';
export * from './escrow.ts';
export * from './dkg.ts';
export * from './canonicalJson.ts';
export * from './signature.ts';
export * from './workingDays.ts';
export * from './trust.ts';
export * from './warrant.ts';
export * from './delivery.ts';
export * from './logEntries.ts';
export * from './shareRequest.ts';
export * from './release.ts';
export * from './wire.ts';
export * from './ceremony.ts';
export * from './deploymentEscrow.ts';
export * from './agency.ts';
export * from './evidence.ts';
export * from './oversight.ts';
export * from './agencyRequests.ts';
export * from './operatorRequests.ts';
export * from './unsealing.ts';
export * from './urgentNotices.ts';
