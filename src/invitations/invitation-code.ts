// The shape of a code that accepts an invitation: inv_ and 43 base64url characters (256 bits).
// Checked before any lookup, by the authorization endpoint (which imports no SQL) and the service.
export const INVITATION_CODE = /^inv_[A-Za-z0-9_-]{43}$/;
