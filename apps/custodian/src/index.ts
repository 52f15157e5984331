export { startCustodian, type CustodianOptions, type RunningCustodian } from './service.ts';
export { initCustodianKeys, readCustodianKeys, writeCustodianKeys, publicKeysOf, type CustodianSecrets, type CustodianPublicKeys } from './keys.ts';
export { CustodianStore } from './custodianStore.ts';
