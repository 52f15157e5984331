/**
 * Signing and checking a custodian operator's commands (the review API, @doublelock/protocol
 * custodianOperator.ts): Ed25519 (RFC 8032) over lengthPrefixed(OPERATOR_REQUEST_LABEL, canonical JSON),
 * as every lawful-access signature (signature.ts). Freshness and single use are the custodian's checks.
 */
import { OPERATOR_REQUEST_LABEL, OPERATOR_REQUEST_SKEW_MS, type OperatorCommand, type OperatorRequest, type SignedOperatorRequest, operatorRequest, toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { signDocument, verifyDocument } from './signature.ts';

export function signOperatorRequest(custodian: number, command: OperatorCommand, secretKey: Uint8Array, issuedAt = Date.now()): SignedOperatorRequest {
  const request = operatorRequest.parse({ custodian, issuedAt, nonce: toBase64Url(randomBytes(16)), command });
  return { request, signature: signDocument(OPERATOR_REQUEST_LABEL, request, secretKey) };
}

export type OperatorRequestProblem = 'bad_operator_signature' | 'wrong_custodian' | 'stale_request';

/** The key (of `operatorKeys`, base64url) that signed the command and the problem, if any; the nonce is the caller's to check. */
export function checkOperatorRequest(
  signed: SignedOperatorRequest,
  operatorKeys: readonly string[],
  custodian: number,
  now: number,
): { problem: OperatorRequestProblem; detail: string } | { key: string; request: OperatorRequest } {
  const key = operatorKeys.find((k) => verifyDocument(OPERATOR_REQUEST_LABEL, signed.request, signed.signature, k));
  if (!key) return { problem: 'bad_operator_signature', detail: 'the command is not signed by an operator key of this custodian' };
  if (signed.request.custodian !== custodian) return { problem: 'wrong_custodian', detail: `the command is addressed to custodian ${signed.request.custodian}` };
  if (Math.abs(signed.request.issuedAt - now) > OPERATOR_REQUEST_SKEW_MS) return { problem: 'stale_request', detail: 'the command is too old or from the future' };
  return { key, request: signed.request };
}
