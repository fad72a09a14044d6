/** The S3 server-side options of a repository, apart from the S3 backend so that checking them loads no SDK. */

/**
 * What S3 itself does with each object it stores: encryption with its own
 * keys (SSE-S3, `AES256`) or with a KMS key (SSE-KMS), and the storage
 * class. Sent on every PutObject and CreateMultipartUpload (the upload of a
 * large object); redrepl copies no object inside S3.
 */
export interface S3ServerSide {
  sse?: S3Sse
  kmsKeyId?: string
  storageClass?: S3StorageClass
}

export const S3_SSE = ['AES256', 'aws:kms', 'aws:kms:dsse'] as const
export type S3Sse = (typeof S3_SSE)[number]
/**
 * The classes an object can be read from at once. GLACIER and DEEP_ARCHIVE
 * are left out: their objects must be restored before a GET, and a push
 * reads the facts it wrote before, a restore every chunk.
 */
export const S3_STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'REDUCED_REDUNDANCY', 'EXPRESS_ONEZONE', 'OUTPOSTS'] as const
export type S3StorageClass = (typeof S3_STORAGE_CLASSES)[number]

/** The PutObject/CreateMultipartUpload parameters of the server-side options. */
export function serverSideParams(options: S3ServerSide | undefined): {ServerSideEncryption?: S3Sse; SSEKMSKeyId?: string; StorageClass?: S3StorageClass} {
  const params: {ServerSideEncryption?: S3Sse; SSEKMSKeyId?: string; StorageClass?: S3StorageClass} = {}
  if (options?.sse !== undefined) params.ServerSideEncryption = options.sse
  if (options?.kmsKeyId !== undefined) params.SSEKMSKeyId = options.kmsKeyId
  if (options?.storageClass !== undefined) params.StorageClass = options.storageClass
  return params
}
