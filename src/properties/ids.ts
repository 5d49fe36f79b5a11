// Identifiers of properties and categories in Kinde's shape (prop_0192b7e8b4f8ca08110d2b22059662a8):
// 32 hex digits whose first 12 are the creation time in milliseconds, so ordering by id — what
// starting_after / ending_before page by — is creation order.
import { randomHex } from "../crypto/random.js";

const timeOrdered = (prefix: string, now: number) =>
  `${prefix}_${now.toString(16).padStart(12, "0").slice(-12)}${randomHex(10)}`;

export const newPropertyId = (now = Date.now()) => timeOrdered("prop", now);
export const newCategoryId = (now = Date.now()) => timeOrdered("cat", now);

export const PROPERTY_ID = /^prop_[0-9a-f]{32}$/;
export const CATEGORY_ID = /^cat_[0-9a-f]{32}$/;
