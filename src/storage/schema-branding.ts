// Row types of the hosted pages' branding (migration 0034; src/branding/).

/** An uploaded logo: the environment's (owner 'environment') or an organization's (owner = org_code). */
export interface LogosTable {
  owner: string;
  /** Kinde's logo types: light, dark. */
  type: string;
  org_code: string | null;
  /** Decided from the bytes (src/branding/image-type.ts), never from what the uploader declared. */
  content_type: string;
  file_name: string;
  /** Hex SHA-256 of data: the version in the public URL and the ETag. */
  sha256: string;
  data: Uint8Array;
  created_at: number;
}
