export { assertReferenceInside, S3_STORE } from './confinement.js';
export {
  type DeleteExpiredPayloadsOptions,
  type DeleteExpiredPayloadsResult,
  deleteExpiredPayloads,
} from './delete-expired-payloads.js';
export { S3AccessError } from './s3-access-error.js';
export { classifyS3Error, type S3FailureKind } from './s3-errors.js';
export { createS3PayloadStore, type S3PayloadStore } from './s3-payload-store.js';
export type { S3PayloadEncryption, S3PayloadStoreOptions } from './s3-payload-store-options.js';
