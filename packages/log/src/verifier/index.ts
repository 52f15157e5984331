/**
 * The client-side verifier of the transparency log. It imports nothing from the prover (the server's
 * tree): only @noble/hashes, @noble/curves and its own files, so a bug in the prover cannot hide itself.
 */
export * from './encoding.ts';
export * from './hash.ts';
export * from './proof.ts';
export * from './rootBuilder.ts';
export * from './note.ts';
export * from './checkpoint.ts';
export * from './witnesses.ts';
