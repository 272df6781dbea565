/**
 * The version-neutral admission request. The wire codec (review.ts) builds it from
 * AdmissionReview v1 or v1beta1; nothing past the HTTP edge knows wire versions.
 */
export const Operation = {
  Create: 'CREATE',
  Update: 'UPDATE',
  Delete: 'DELETE',
  Connect: 'CONNECT',
} as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  readonly subResource?: string;
  readonly operation: Operation;
  readonly namespace: string;
  readonly name: string;
  readonly userInfo: UserInfo;
  /** The object under review as sent (the new object; null on DELETE). */
  readonly object: unknown;
  /** The previous object on UPDATE and DELETE; null otherwise. */
  readonly oldObject: unknown;
  readonly dryRun: boolean;
}
